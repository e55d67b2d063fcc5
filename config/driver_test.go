package config_test

import (
	"strings"
	"testing"

	"github.com/sioagent/sioagent/config"
)

// lazyDriver lists the keys "a" and "b" but reads only "a" (and "b" only
// when read is set), as a buggy driver would.
type lazyDriver struct {
	name string
	keys []string
	read bool
}

func (d lazyDriver) Name() string   { return d.name }
func (d lazyDriver) Keys() []string { return d.keys }
func (d lazyDriver) Decode(t *config.Table) config.SensorOptions {
	t.Int("a", 0, 0, 9)
	if d.read {
		t.Int("b", 0, 0, 9)
	}
	return noClaims{}
}

type noClaims struct{}

func (noClaims) Claims() []config.Claim { return nil }

func mustDrivers(t *testing.T, ds ...config.Driver) *config.Drivers {
	t.Helper()
	reg, err := config.NewDrivers(ds)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestUnreadKeyRejected checks that a key a driver lists but does not read
// is rejected, not silently accepted.
func TestUnreadKeyRejected(t *testing.T) {
	doc := minimal + "[[sensors]]\nname = \"s\"\ndriver = \"x\"\na = 1\nb = 2\n"
	_, err := config.Parse("t.toml", []byte(doc), nil, mustDrivers(t, lazyDriver{name: "x", keys: []string{"a", "b"}}))
	if err == nil || err.Error() != `t.toml: sensors."s".b: not used by driver "x"` {
		t.Errorf("unread key: %v", err)
	}
	if _, err := config.Parse("t.toml", []byte(doc), nil, mustDrivers(t, lazyDriver{name: "x", keys: []string{"a", "b"}, read: true})); err != nil {
		t.Errorf("read key: %v", err)
	}
	// A driver's key error comes before a common key's written later.
	bad := minimal + "[[sensors]]\nname = \"s\"\ndriver = \"x\"\na = 10\ninterval = \"x\"\n"
	_, err = config.Parse("t.toml", []byte(bad), nil, mustDrivers(t, lazyDriver{name: "x", keys: []string{"a"}}))
	if err == nil || !strings.HasPrefix(err.Error(), `t.toml: sensors."s".a: 10 is out of range`) {
		t.Errorf("first error: %v", err)
	}
}

func TestNewDriversRefuses(t *testing.T) {
	tests := []struct {
		name string
		ds   []config.Driver
		want string
	}{
		{"none", nil, "no sensor drivers"},
		{"no name", []config.Driver{lazyDriver{}}, "has no name"},
		{"twice", []config.Driver{lazyDriver{name: "x"}, lazyDriver{name: "x"}}, `"x" registered twice`},
		{"common key", []config.Driver{lazyDriver{name: "x", keys: []string{"interval"}}}, `"interval" is empty or a common key`},
		{"empty key", []config.Driver{lazyDriver{name: "x", keys: []string{""}}}, "is empty or a common key"},
		{"key twice", []config.Driver{lazyDriver{name: "x", keys: []string{"a", "a"}}}, `"a" listed twice`},
	}
	for _, tt := range tests {
		if _, err := config.NewDrivers(tt.ds); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := config.Parse("t.toml", []byte(minimal), nil, nil); err == nil {
		t.Error("Parse without drivers succeeded")
	}
}

func TestDriversKeys(t *testing.T) {
	reg := mustDrivers(t, lazyDriver{name: "x", keys: []string{"a", "b"}}, lazyDriver{name: "y", keys: []string{"b", "c"}})
	if got := strings.Join(reg.Keys(), " "); got != "name driver interval timeout enabled a b c" {
		t.Errorf("keys %q", got)
	}
	if got := strings.Join(reg.Names(), " "); got != "x y" {
		t.Errorf("names %q", got)
	}
}
