# The AWS SDK for Ruby probe of the imdsemu provider lab
# (lab/probes/README.md): one Aws::InstanceProfileCredentials for the life of
# the process, as in an application. Its RefreshingCredentials decide, as the
# SDK does, when to refresh (synchronously within 5 minutes of expiry).
#
#   ruby lab/probes/ruby/probe.rb
#
# Debian's ruby-aws-sdk-core provides aws-sdk-core and aws-sdk-sts. Never
# writes a secret key or session token.
require 'json'
require 'uri'
require 'aws-sdk-core'

# A line writer for the protocol: one JSON object per line, one at a time.
class Out
  def initialize(io)
    @io = io
    @mutex = Mutex.new
  end

  def write(obj)
    line = JSON.generate(obj)
    @mutex.synchronize do
      @io.write(line + "\n")
      @io.flush
    end
  end
end

# The probe: lazily builds the provider (its constructor fetches) and counts
# the SDK's credential fetches (get_credentials, the IMDS round trip behind
# refresh) to tell a fetch from a cache hit.
class Probe
  def initialize(sts_endpoint, region)
    @sts_endpoint = sts_endpoint
    @region = region
    @mutex = Mutex.new # guards @creds and @clients
    @count_mutex = Mutex.new
    @fetches = 0
    @creds = nil
    @clients = {}
    probe = self
    @provider_class = Class.new(Aws::InstanceProfileCredentials) do
      define_method(:get_credentials) do
        probe.fetched
        super()
      end
      private :get_credentials
    end
  end

  def fetched
    @count_mutex.synchronize { @fetches += 1 }
  end

  def fetches
    @count_mutex.synchronize { @fetches }
  end

  # provider is the SDK's provider, built at the first retrieve (its
  # constructor fetches). This SDK release reads
  # AWS_EC2_METADATA_SERVICE_ENDPOINT but connects to port 80 (or its :port
  # option) whatever port the URL names, so the probe passes the URL's port
  # as an application must.
  def provider
    @mutex.synchronize do
      @creds ||= begin
        endpoint = ENV['AWS_EC2_METADATA_SERVICE_ENDPOINT']
        opts = {}
        opts[:port] = URI.parse(endpoint).port if endpoint && !endpoint.empty?
        @provider_class.new(opts)
      end
    end
  end

  def retrieve(check)
    res = { access_key_id: '', expires: '', source: 'cache', check: '', error: '' }
    before = fetches
    start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    begin
      prov = provider
      creds = prov.credentials
      expiration = prov.instance_variable_get(:@expiration) # #expiration would refresh again
    rescue StandardError => e # the SDK's messages carry no secrets
      res[:latency_ms] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - start) * 1000
      res[:source] = 'fetch' if fetches != before
      res[:error] = "#{e.class}: #{e.message}"
      return res
    end
    res[:latency_ms] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - start) * 1000
    res[:source] = 'fetch' if fetches != before
    if creds.nil? || creds.access_key_id.nil? || creds.access_key_id.empty?
      # InstanceProfileCredentials turns every IMDS failure into empty
      # credentials rather than an error.
      res[:error] = 'InstanceProfileCredentials returned no credentials (the SDK hides the IMDS error)'
      return res
    end
    res[:access_key_id] = creds.access_key_id
    res[:expires] = expiration.utc.strftime('%Y-%m-%dT%H:%M:%SZ') if expiration
    res[:check], res[:check_error] = check_credentials(creds) if check
    res
  end

  def client(creds)
    @mutex.synchronize do
      @clients.clear if @clients.size > 8
      @clients[creds.access_key_id] ||= Aws::STS::Client.new(
        region: @region,
        endpoint: @sts_endpoint,
        credentials: Aws::Credentials.new(creds.access_key_id, creds.secret_access_key, creds.session_token),
        retry_limit: 0
      )
    end
  end

  def check_credentials(creds)
    return ['error', 'IMDSEMU_PROBE_STS_ENDPOINT is not set'] if @sts_endpoint.nil? || @sts_endpoint.empty?

    client(creds).get_caller_identity
    ['ok', '']
  rescue Aws::STS::Errors::ServiceError => e
    [e.code, '']
  rescue StandardError => e
    ['error', "#{e.class}: #{e.message}"]
  end
end

def main
  unless ARGV.empty? || ARGV == ['imds']
    warn "ruby probe: unknown provider #{ARGV.inspect}: only \"imds\""
    exit 2
  end
  region = ENV['AWS_REGION'].to_s.empty? ? (ENV['AWS_DEFAULT_REGION'] || 'us-east-1') : ENV['AWS_REGION']
  probe = Probe.new(ENV['IMDSEMU_PROBE_STS_ENDPOINT'], region)
  out = Out.new($stdout)
  out.write(type: 'ready', sdk: 'ruby', version: Aws::CORE_GEM_VERSION, provider: 'InstanceProfileCredentials')
  threads = []
  $stdin.each_line do |line|
    line = line.strip
    next if line.empty?

    begin
      req = JSON.parse(line)
    rescue JSON::ParserError => e
      out.write(type: 'result', id: 0, error: "probe: bad request line: #{e.message}")
      next
    end
    break if req['op'] == 'quit'

    unless req['op'] == 'retrieve'
      out.write(type: 'result', id: req['id'] || 0, error: "probe: unknown op #{req['op'].inspect}")
      next
    end
    threads.select!(&:alive?)
    threads << Thread.new(req['id'] || 0, req['check'] ? true : false) do |id, check|
      out.write({ type: 'result', id: id }.merge(probe.retrieve(check)))
    end
  end
  threads.each(&:join)
  exit 0
end

main
