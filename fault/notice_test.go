package fault

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsemu/imdsemu/imds"
)

// TestScenario_Notice: a step posts its notice when its time comes, on a
// Spot instance's notices, and the metadata server serves it from then on.
func TestScenario_Notice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notices := imds.NewNotices(imds.Instance{LifeCycle: imds.LifeCycleSpot}, nil, nil)
		spot := Scenario{Name: "spot-2m", Steps: []Step{
			{At: Duration(2 * time.Minute), Notice: &Notice{Kind: imds.NoticeSpotInterruption, Action: "stop"}},
		}}
		in, err := New(Options{Scenarios: []Scenario{spot}, Notices: notices})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		start := time.Now()
		if _, err := in.StartScenario("spot-2m"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*time.Minute - time.Second)
		synctest.Wait()
		if got := notices.List(); len(got) != 0 {
			t.Fatalf("at 1m59s notices = %v, want none yet", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got := notices.List()
		if len(got) != 1 || got[0].Action != "stop" || !got[0].Time.Equal(start.Add(4*time.Minute).UTC().Truncate(time.Second)) {
			t.Fatalf("at 2m notices = %+v, want a stop two minutes later", got)
		}
		st, err := in.Scenario("spot-2m")
		if err != nil || st.Running || st.StepsDone != 1 {
			t.Errorf("Scenario after its notice = %+v, %v; want done", st, err)
		}
	})
}

func TestScenario_NoticeValidation(t *testing.T) {
	for _, st := range []Step{
		{Notice: &Notice{Kind: "meteor"}},
		{Notice: &Notice{Kind: imds.NoticeMaintenance, Code: "reboot"}},
		{Notice: &Notice{Kind: imds.NoticeRebalance}, Clear: true},
	} {
		err := Scenario{Name: "n", Steps: []Step{st}}.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "steps[0]") {
			t.Errorf("Validate(%+v) = %v, want a FieldError on steps[0]", st, err)
		}
	}
	in, err := New(Options{Scenarios: []Scenario{{Name: "n", Steps: []Step{{Notice: &Notice{Kind: imds.NoticeRebalance}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.StartScenario("n"); !errors.Is(err, ErrNoNotifier) {
		t.Errorf("StartScenario without Options.Notices: err = %v, want ErrNoNotifier", err)
	}
	var s Step
	if err := json.Unmarshal([]byte(`{"at":"2m","notice":{"kind":"spot-interruption","in":"30s"}}`), &s); err != nil || s.Notice == nil || s.Notice.Request().In != 30*time.Second {
		t.Errorf("step from JSON = %+v, %v; want a notice posted 30s ahead", s, err)
	}
}
