// imdsemu dashboard: one time axis of credential generations, provider lab
// lanes and events, live from the admin listener's event stream. Plain
// JavaScript, no dependencies; docs/dashboard.md describes it.
"use strict";

(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const MAX_SERVED = 400; // served-event times kept per generation
  const MAX_ROWS = 4000; // lab rows kept per lane
  const MAX_MARKERS = 300;
  const MAX_LOG = 200;

  const st = {
    gens: new Map(), // key profile|seq -> generation
    byKey: new Map(), // access key id -> generation
    markers: [],
    lab: { scenario: "", start: null, lanes: new Map(), done: false },
    server: null, // last /ui/api/state
    skew: 0, // server clock - browser clock, ms
    loadedAt: Date.now(),
    es: null,
    connected: false,
    reconnects: 0,
    lastEventID: 0,
  };
  // Read by the browser test and handy in the console.
  window.imdsemuDashboard = st;

  const now = () => Date.now() + st.skew;
  const t = (s) => (s ? Date.parse(s) : null);

  // ---- token and requests ----
  const tokenKey = "imdsemu-admin-token";
  const token = () => sessionStorage.getItem(tokenKey) || "";

  function message(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.classList.toggle("error", !!isError);
  }

  async function readJSON(path) {
    const h = {};
    if (token()) h.Authorization = "Bearer " + token();
    const r = await fetch(path, { headers: h, cache: "no-store" });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error || ""}`);
    return r.json();
  }

  // control sends a change to the /v1/ API with the bearer token.
  async function control(method, path, body, what) {
    if (!token()) {
      message(`${what}: enter the admin token first (admin.token in the data directory)`, true);
      $("token").focus();
      return null;
    }
    const opts = { method, headers: { Authorization: "Bearer " + token() } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    try {
      const r = await fetch(path, opts);
      const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
      if (!r.ok) {
        message(`${what}: ${r.status} ${data.error || r.statusText}`, true);
        if (r.status === 401) $("token-state").textContent = "token refused";
        return null;
      }
      $("token-state").textContent = "token accepted";
      message(`${what}: done`);
      refreshState();
      return data;
    } catch (e) {
      message(`${what}: ${e.message}`, true);
      return null;
    }
  }

  // ---- state ----
  function genKey(g) { return `${g.profile}|${g.seq}`; }

  function upsertGen(g) {
    const k = genKey(g);
    let cur = st.gens.get(k);
    if (!cur) {
      cur = { profile: g.profile, role: g.role, seq: g.seq, access_key_id: g.access_key_id, served: [], clients: new Map() };
      st.gens.set(k, cur);
    }
    for (const f of ["role", "access_key_id", "status"]) if (g[f]) cur[f] = g[f];
    for (const f of ["issued", "expires", "first_served", "superseded", "expired", "revoked"]) if (g[f]) cur[f] = t(g[f]);
    if (g.served !== undefined) cur.servedCount = Math.max(cur.servedCount || 0, g.served);
    for (const c of g.clients || []) {
      const have = cur.clients.get(c.address) || { count: 0 };
      const n = Object.values(c.versions || {}).reduce((a, b) => a + b, 0);
      cur.clients.set(c.address, { first: t(c.first), last: t(c.last), count: Math.max(have.count, n), versions: c.versions || {} });
    }
    if (cur.access_key_id) st.byKey.set(cur.access_key_id, cur);
    return cur;
  }

  function statusOf(g) {
    if (g.revoked) return "revoked";
    if (g.expired || (g.expires && g.expires <= now())) return "expired";
    if (g.superseded) return "superseded";
    return "current";
  }

  async function refreshGenerations() {
    const data = await readJSON("api/generations");
    for (const g of data.generations) upsertGen(g);
    schedule();
  }

  async function refreshState() {
    try {
      const s = await readJSON("api/state");
      st.skew = Date.parse(s.now) - Date.now();
      st.server = s;
      renderControls();
      schedule();
    } catch (e) {
      message(e.message, true);
    }
  }

  function addMarker(at, kind, label) {
    st.markers.push({ at, kind, label });
    if (st.markers.length > MAX_MARKERS) st.markers.shift();
  }

  function log(at, kind, text) {
    const li = document.createElement("li");
    li.className = "ev-" + kind;
    li.dataset.kind = kind;
    li.textContent = `${new Date(at).toLocaleTimeString()} ${text}`;
    const ol = $("events");
    ol.prepend(li);
    while (ol.children.length > MAX_LOG) ol.lastChild.remove();
  }

  function lane(name) {
    let l = st.lab.lanes.get(name);
    if (!l) {
      l = { name, kind: "", rows: [], calls: 0, blocked: 0, refreshes: 0, failed: 0, key: "" };
      st.lab.lanes.set(name, l);
    }
    return l;
  }

  function onLab(change, d) {
    switch (change) {
      case "lanes":
        st.lab = { scenario: d.scenario || "", start: t(d.start), lanes: new Map(), done: false };
        for (const l of d.lanes || []) lane(l.name).kind = l.kind || "";
        addMarker(t(d.start) || now(), "lab", `lab: ${d.scenario || "run"} starts`);
        log(now(), "lab", `lab run ${d.scenario || ""} started with ${(d.lanes || []).length} lanes`);
        break;
      case "row": {
        const l = lane(d.lane);
        const failed = !!d.error || (!!d.check && d.check !== "ok");
        const refresh = d.source === "fetch" || d.imds_requests > 0;
        l.calls++;
        if (d.blocked) l.blocked++;
        if (refresh) l.refreshes++;
        if (failed) l.failed++;
        if (d.access_key_id) l.key = d.access_key_id;
        l.rows.push({ at: t(d.time), failed, refresh, blocked: !!d.blocked, check: d.check || d.error || "" });
        if (l.rows.length > MAX_ROWS) l.rows.shift();
        break;
      }
      case "event":
        addMarker(t(d.time) || now(), "lab", d.action + (d.error ? ` (failed: ${d.error})` : ""));
        log(t(d.time) || now(), "lab", `lab: ${d.action}${d.error ? " — " + d.error : ""}`);
        break;
      case "done":
        st.lab.done = true;
        log(now(), "lab", `lab run finished${d.failures ? `: ${d.failures} expectation(s) not met` : ""}`);
        break;
    }
    renderLanes();
  }

  // onDemo shows a narrated step of "imdsemu demo" (POST /v1/demo): a
  // marker, a line in the log and the banner above the chart.
  function onDemo(at, demo, step) {
    const title = `${step.n ? step.n + ". " : ""}${step.title || ""}`;
    addMarker(at, "demo", title);
    const outs = step.outcomes || [];
    log(at, "demo", `${demo}: ${title}${step.passed === false ? " (not as narrated)" : ""}`);
    const box = $("narration");
    box.hidden = false;
    box.dataset.passed = String(step.passed !== false);
    $("narration-title").textContent = `${demo} — ${title}`;
    $("narration-text").textContent = step.text || "";
    $("narration-outcomes").replaceChildren(...outs.map((o) => {
      const li = document.createElement("li");
      const unexpected = o.want && o.want !== o.got;
      if (unexpected) li.className = "unexpected";
      li.textContent = `${o.actor}: ${o.got}${o.want ? (unexpected ? ` (expected ${o.want})` : " as expected") : ""}${o.access_key_id ? " · " + o.access_key_id : ""}${o.note ? " — " + o.note : ""}`;
      return li;
    }));
  }

  function onEvent(ev) {
    st.lastEventID = ev.id;
    const at = t(ev.at);
    switch (ev.type) {
      case "issued": {
        const g = upsertGen({ profile: ev.profile, role: ev.role, seq: ev.seq, access_key_id: ev.access_key_id, issued: ev.at, expires: ev.expires, status: "current" });
        log(at, "gen", `issued generation ${g.seq} ${ev.access_key_id} of ${shortARN(ev.profile)}`);
        break;
      }
      case "superseded":
      case "expired": {
        const g = st.gens.get(`${ev.profile}|${ev.seq}`) || st.byKey.get(ev.access_key_id);
        if (g) { g[ev.type] = at; g.status = ev.type; }
        log(at, "gen", `${ev.type} generation ${ev.seq} ${ev.access_key_id || ""}`);
        break;
      }
      case "mint_failed":
        addMarker(at, "fault", "mint failed");
        log(at, "fault", `minting failed: ${ev.error}`);
        break;
      case "served": {
        const g = st.byKey.get(ev.access_key_id);
        if (g) {
          if (!g.first_served) g.first_served = at;
          g.served.push({ at, client: ev.client, version: ev.version });
          if (g.served.length > MAX_SERVED) g.served.shift();
          const c = g.clients.get(ev.client) || { first: at, count: 0, versions: {} };
          c.last = at; c.count++;
          c.versions[ev.version] = (c.versions[ev.version] || 0) + 1;
          g.clients.set(ev.client, c);
        }
        break;
      }
      case "fault_fired": {
        const f = ev.fault || {};
        addMarker(at, "fault", `${f.name || f.action || "fault"} ${f.action || ""}`.trim());
        log(at, "fault", `fault ${f.id || ""} ${f.name || ""} ${f.action || ""} fired on ${f.method || ""} ${f.path || ""} from ${f.client || ""}`);
        break;
      }
      case "options_changed": {
        const kind = ev.change.startsWith("scenario") ? "scenario" : ev.change.startsWith("fault") ? "fault" : "option";
        const d = ev.detail || {};
        let label = ev.change.replace(/_/g, " ");
        if (d.name) label += " " + d.name;
        if (ev.change === "options") label = `IMDSv2 ${d["http-tokens"]}`;
        if (ev.change === "fault_added") label = `fault ${d.name || d.action || ""} added`;
        if (ev.change === "revoked") { label = `revoked ${shortARN(d.role)}`; refreshGenerations(); }
        addMarker(at, kind, label);
        log(at, kind, label);
        refreshState();
        break;
      }
      case "notice": {
        const d = ev.detail || {};
        const label = `notice ${ev.change} ${d.kind || ""} ${d.action || ""}`.trim();
        addMarker(at, "notice", label);
        log(at, "notice", label);
        refreshState();
        break;
      }
      case "lab":
        onLab(ev.change, ev.detail || {});
        break;
      case "demo":
        onDemo(at, ev.change, ev.detail || {});
        break;
    }
    schedule();
  }

  // ---- the event stream ----
  function connect() {
    if (st.es) st.es.close();
    const es = new EventSource("api/events");
    st.es = es;
    const types = ["issued", "superseded", "expired", "mint_failed", "served", "fault_fired", "options_changed", "notice", "lab", "demo"];
    for (const ty of types) {
      es.addEventListener(ty, (m) => {
        try { onEvent(JSON.parse(m.data)); } catch (e) { console.error(e); }
      });
    }
    es.addEventListener("dropped", () => {
      // The server dropped us for falling behind: start over.
      setConn("down", "reconnecting (dropped)");
      es.close();
      st.reconnects++;
      setTimeout(connect, 500);
    });
    es.onopen = () => {
      setConn("live", "live");
      // Anything missed while disconnected is in the current state.
      refreshGenerations().catch((e) => message(e.message, true));
      refreshState();
    };
    es.onerror = () => {
      st.connected = false;
      if (es.readyState === EventSource.CLOSED) {
        setConn("down", "disconnected; retrying");
        st.reconnects++;
        setTimeout(connect, 2000);
      } else {
        setConn("down", "reconnecting…");
        st.reconnects++;
      }
    };
  }

  function setConn(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = text;
    st.connected = state === "live";
  }

  // ---- controls ----
  function selectedProfile() {
    const p = (st.server?.profiles || []).find((x) => x.arn === $("profile").value);
    return p;
  }

  function renderControls() {
    const s = st.server;
    if (!s) return;
    const sel = $("profile");
    const prev = sel.value;
    const arns = s.profiles.filter((p) => p.role).map((p) => p.arn);
    if (sel.options.length !== arns.length || [...sel.options].some((o, i) => o.value !== arns[i])) {
      sel.replaceChildren(...s.profiles.filter((p) => p.role).map((p) => {
        const o = document.createElement("option");
        o.value = p.arn;
        o.textContent = `${p.name}${p.instance ? " (instance)" : ""}`;
        return o;
      }));
      const inst = s.profiles.find((p) => p.instance && p.role);
      sel.value = arns.includes(prev) ? prev : inst ? inst.arn : arns[0] || "";
    }
    const req = s.options["http-tokens"] === "required";
    const b = $("imdsv2");
    b.textContent = `IMDSv2 required: ${req ? "on" : "off"}`;
    b.setAttribute("aria-pressed", String(req));
    $("revoke").hidden = !s.revoke;

    const sc = $("scenario");
    const prevSc = sc.value;
    sc.replaceChildren(...s.scenarios.map((x) => {
      const o = document.createElement("option");
      o.value = x.name;
      o.textContent = x.name + (x.running ? " (running)" : "");
      return o;
    }));
    if (s.scenarios.some((x) => x.name === prevSc)) sc.value = prevSc;

    const ul = $("faults");
    ul.replaceChildren(...s.faults.map((f) => {
      const li = document.createElement("li");
      li.dataset.id = f.id;
      li.textContent = `#${f.id} ${f.name || ""} ${f.action}${f.status ? " " + f.status : ""}${f.path ? " " + f.path : ""}${f.scenario ? " (scenario " + f.scenario + ")" : ""} — fired ${f.fired || 0}`;
      const stop = document.createElement("button");
      stop.type = "button";
      stop.textContent = "stop";
      stop.addEventListener("click", () => control("DELETE", "/v1/faults/" + encodeURIComponent(f.id), undefined, `stop fault ${f.id}`));
      li.append(stop);
      return li;
    }));
    if (!s.faults.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "none";
      ul.append(li);
    }
  }

  function wireControls() {
    $("token").value = token();
    $("token-state").textContent = token() ? "token set for this tab" : "read-only";
    $("token-save").addEventListener("click", () => {
      sessionStorage.setItem(tokenKey, $("token").value.trim());
      $("token-state").textContent = token() ? "token set for this tab" : "read-only";
    });
    $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("token-save").click(); });
    $("rotate").addEventListener("click", () => {
      const p = selectedProfile();
      if (p) control("POST", `/v1/profiles/${encodeURIComponent(p.arn)}/rotate?wait=true`, undefined, `rotate ${p.name}`);
    });
    $("revoke").addEventListener("click", () => {
      const p = selectedProfile();
      if (!p) return;
      const g = [...st.gens.values()].find((x) => x.profile === p.arn && x.role);
      const role = g ? g.role : `arn:aws:iam::${p.account}:role/${p.role}`;
      control("POST", "/v1/revocations", { role }, `revoke sessions of ${p.role}`);
    });
    $("imdsv2").addEventListener("click", () => {
      const req = st.server && st.server.options["http-tokens"] === "required";
      control("PATCH", "/v1/options", { "http-tokens": req ? "optional" : "required" }, `IMDSv2 ${req ? "optional" : "required"}`);
    });
    $("fault-add").addEventListener("click", () => control("POST", "/v1/faults", JSON.parse($("fault-preset").value), "start fault"));
    $("fault-clear").addEventListener("click", () => control("DELETE", "/v1/faults", undefined, "stop all faults"));
    $("scenario-start").addEventListener("click", () => {
      const n = $("scenario").value;
      if (n) control("POST", `/v1/scenarios/${encodeURIComponent(n)}/start`, undefined, `start scenario ${n}`);
    });
    $("scenario-stop").addEventListener("click", () => {
      const n = $("scenario").value;
      if (n) control("POST", `/v1/scenarios/${encodeURIComponent(n)}/stop`, undefined, `stop scenario ${n}`);
    });
    $("window").addEventListener("change", schedule);
  }

  // ---- drawing ----
  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function shortARN(arn) {
    if (!arn) return "";
    const i = arn.lastIndexOf("/");
    return i >= 0 ? arn.slice(i + 1) : arn;
  }

  function fmtTick(ms, span) {
    const d = new Date(ms);
    return span > 600e3 ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleTimeString([], { hour12: false });
  }

  function renderLanes() {
    const tb = $("lanes").tBodies[0];
    tb.replaceChildren(...[...st.lab.lanes.values()].map((l) => {
      const tr = document.createElement("tr");
      tr.dataset.lane = l.name;
      for (const [v, cls] of [[l.name, ""], [l.calls, ""], [l.blocked, ""], [l.refreshes, ""], [l.failed, l.failed ? "failed" : ""], [l.key, ""]]) {
        const td = document.createElement("td");
        td.textContent = v;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }));
  }

  function draw() {
    const svg = $("timeline");
    const W = Math.max(600, svg.clientWidth || 1000);
    const labelW = 330, rightPad = 16, top = 58, rowH = 20;
    const end = now() + 5000;
    const windowMs = Number($("window").value) * 1000;
    let earliest = Math.min(st.loadedAt + st.skew, end - 30e3);
    for (const g of st.gens.values()) if (g.issued) earliest = Math.min(earliest, g.issued);
    if (st.lab.start) earliest = Math.min(earliest, st.lab.start);
    const start = Math.max(earliest - 5000, end - windowMs);
    const span = end - start;
    const x = (ms) => labelW + ((Math.min(Math.max(ms, start), end) - start) / span) * (W - labelW - rightPad);

    // Rows: profiles' generations (newest first within a profile), then lab lanes.
    const profiles = new Map();
    for (const g of st.gens.values()) {
      if (g.expires && g.expires < start && (g.superseded || 0) < start) continue; // long gone
      if (!profiles.has(g.profile)) profiles.set(g.profile, []);
      profiles.get(g.profile).push(g);
    }
    const rows = [];
    for (const [p, gs] of [...profiles.entries()].sort()) {
      rows.push({ kind: "profile", label: shortARN(p), title: p });
      gs.sort((a, b) => b.seq - a.seq).slice(0, 8).forEach((g) => rows.push({ kind: "gen", g }));
    }
    if (st.lab.lanes.size) {
      rows.push({ kind: "labhead", label: `lab${st.lab.scenario ? ": " + st.lab.scenario : ""}${st.lab.done ? " (done)" : ""}` });
      for (const l of st.lab.lanes.values()) rows.push({ kind: "lane", l });
    }
    if (!rows.length) rows.push({ kind: "empty" });
    const H = top + rows.length * rowH + 12;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("height", H);
    const kids = [];

    // Axis and grid.
    const steps = [1e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3];
    const step = steps.find((s) => span / s <= 10) || 3600e3;
    for (let tk = Math.ceil(start / step) * step; tk <= end; tk += step) {
      kids.push(el("line", { class: "grid", x1: x(tk), x2: x(tk), y1: top - 4, y2: H - 8 }));
      kids.push(el("text", { class: "small", x: x(tk), y: top - 8, "text-anchor": "middle" }, fmtTick(tk, span)));
    }
    kids.push(el("line", { class: "axis", x1: labelW, x2: W - rightPad, y1: top - 4, y2: top - 4 }));

    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const mid = y + rowH / 2;
      if (r.kind === "empty") {
        kids.push(el("text", { class: "small", x: labelW, y: mid + 4 }, "waiting for credential generations…"));
      } else if (r.kind === "profile" || r.kind === "labhead") {
        const tx = el("text", { class: "label", x: 6, y: mid + 4 }, r.label);
        if (r.title) tx.append(el("title", {}, r.title));
        kids.push(tx);
        kids.push(el("line", { class: "grid", x1: 0, x2: W, y1: y + 1, y2: y + 1 }));
      } else if (r.kind === "gen") {
        kids.push(...drawGen(r.g, y, rowH, x, start, end));
      } else if (r.kind === "lane") {
        kids.push(...drawLane(r.l, y, rowH, x, start));
      }
    });

    // Markers across every row; labels on three levels at the top, left
    // out where there is no room (the line keeps its tooltip).
    const free = [-1e9, -1e9, -1e9];
    for (const m of st.markers) {
      if (m.at < start) continue;
      const mx = x(m.at);
      const tip = `${new Date(m.at).toLocaleTimeString()} ${m.label}`;
      const line = el("line", { class: "m-" + m.kind, "data-marker": m.kind, x1: mx, x2: mx, y1: 4, y2: H - 8 });
      line.append(el("title", {}, tip));
      kids.push(line);
      const text = m.label.length > 26 ? m.label.slice(0, 25) + "…" : m.label;
      const level = free.findIndex((f) => f < mx);
      if (level < 0) continue;
      free[level] = mx + text.length * 6 + 6;
      const tx = el("text", { class: "mt-" + m.kind, x: mx + 2, y: 11 + level * 11 }, text);
      tx.append(el("title", {}, tip));
      kids.push(tx);
    }
    const nx = x(now());
    kids.push(el("line", { class: "now", x1: nx, x2: nx, y1: top - 4, y2: H - 8 }));
    svg.replaceChildren(...kids);
    $("clock").textContent = new Date(now()).toLocaleTimeString() + (st.reconnects ? ` · ${st.reconnects} reconnect(s)` : "");
  }

  function drawGen(g, y, rowH, x, start, end) {
    const out = [];
    const status = statusOf(g);
    const label = el("text", { x: 16, y: y + rowH / 2 + 4, "data-gen": g.seq }, `#${g.seq} ${g.access_key_id || ""}`);
    label.append(el("title", {}, `${g.role || ""} generation ${g.seq}: ${status}`));
    out.push(label);
    const issued = g.issued || start;
    const stop = Math.min(g.expires || end, end);
    const h = rowH - 8, by = y + 4;
    // current until superseded, then superseded (still valid) until expiry
    // or revocation; the rest of a revoked or expired life is drawn as such.
    const segs = [];
    const sup = g.superseded || stop;
    const endValid = Math.min(stop, g.revoked || Infinity, g.expired || Infinity);
    segs.push([issued, Math.min(sup, endValid), "gen-current"]);
    if (g.superseded && g.superseded < endValid) segs.push([g.superseded, endValid, "gen-superseded"]);
    if (g.revoked && g.revoked < stop) segs.push([g.revoked, stop, "gen-revoked"]);
    else if (g.expired && g.expired < stop) segs.push([g.expired, stop, "gen-expired"]);
    for (const [a, b, cls] of segs) {
      if (b <= start || b <= a) continue;
      const rect = el("rect", { class: cls, "data-status": cls.slice(4), x: x(a), y: by, width: Math.max(1, x(b) - x(a)), height: h, rx: 2 });
      rect.append(el("title", {}, `#${g.seq} ${cls.slice(4)} ${new Date(a).toLocaleTimeString()}–${new Date(b).toLocaleTimeString()}`));
      out.push(rect);
    }
    if (g.first_served && g.first_served >= start) {
      const fx = x(g.first_served);
      out.push(el("line", { class: "firstserved", x1: fx, x2: fx, y1: by - 2, y2: by + h + 2 }));
    }
    for (const s of g.served) {
      if (s.at < start) continue;
      const c = el("circle", { class: "served", cx: x(s.at), cy: by + h / 2, r: 3.5 });
      c.append(el("title", {}, `${new Date(s.at).toLocaleTimeString()} served to ${s.client} (${s.version})`));
      out.push(c);
    }
    const clients = [...g.clients.entries()].map(([a, c]) => `${a}×${c.count}`).join(" ");
    if (clients) {
      const ct = el("text", { class: "small", x: 200, y: y + rowH / 2 + 4 }, clients.length > 22 ? clients.slice(0, 21) + "…" : clients);
      ct.append(el("title", {}, clients));
      out.push(ct);
    }
    return out;
  }

  function drawLane(l, y, rowH, x, start) {
    const out = [];
    const label = el("text", { x: 16, y: y + rowH / 2 + 4, "data-lane": l.name }, l.name);
    out.push(label);
    const counters = el("text", { class: "small", x: 200, y: y + rowH / 2 + 4 }, `${l.calls} calls · ${l.blocked} blk · ${l.refreshes} ref · `);
    const failed = el("tspan", { class: l.failed ? "failed-count" : "" }, `${l.failed} failed`);
    counters.append(failed);
    counters.append(el("title", {}, `${l.calls} calls, ${l.blocked} blocked, ${l.refreshes} refreshes, ${l.failed} failed checks`));
    out.push(counters);
    for (const r of l.rows) {
      if (!r.at || r.at < start) continue;
      const cls = r.failed ? "call-failed" : r.blocked ? "call-blocked" : r.refresh ? "call-refresh" : "call-ok";
      const big = r.failed || r.blocked || r.refresh;
      const mark = el("rect", { class: cls, x: x(r.at) - (big ? 2 : 1), y: y + (big ? 4 : 7), width: big ? 4 : 2, height: big ? rowH - 8 : rowH - 14 });
      if (r.check && r.check !== "ok") mark.append(el("title", {}, `${new Date(r.at).toLocaleTimeString()} ${r.check}`));
      out.push(mark);
    }
    return out;
  }

  // ---- start ----
  st.reconnect = connect;
  wireControls();
  refreshState();
  connect();
  setInterval(schedule, 1000);
  window.addEventListener("resize", schedule);
})();
