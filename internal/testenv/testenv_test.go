package testenv

import (
	"testing"
)

// probe is a testing.TB that records how a helper ended the test.
type probe struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (p *probe) Helper() {}

func (p *probe) Skipf(format string, args ...any) { p.skipped, p.msg = true, format }

func (p *probe) Fatalf(format string, args ...any) { p.failed, p.msg = true, format }

const testVar = "SIOAGENT_REQUIRE_TESTENV_SELFTEST"

// Unset (or not "1"), the helper skips; set to "1", it fails.
func TestSkipUnlessRequired(t *testing.T) {
	for _, tc := range []struct {
		value      string
		wantFailed bool
	}{{"", false}, {"0", false}, {"yes", false}, {"1", true}} {
		t.Setenv(testVar, tc.value)
		p := &probe{TB: t}
		SkipUnlessRequired(p, testVar, "no %s here", "widget")
		if p.failed != tc.wantFailed || p.skipped == tc.wantFailed {
			t.Errorf("%s=%q: failed %v, skipped %v; want failed %v", testVar, tc.value, p.failed, p.skipped, tc.wantFailed)
		}
	}
}
