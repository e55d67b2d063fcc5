// Package archtest holds the test that keeps the dependency direction of
// docs/ARCHITECTURE.md ("Layers") from rotting.
package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sioagent/sioagent"

// rule says which of our packages (and which outside paths) a package may
// import. Packages are named relative to the module. A rule named "p"
// covers p and the packages below it that have no rule of their own; a
// rule named "p/" covers only the packages below p, and is tried before
// the rule named "p".
type rule struct {
	// ours lists the module packages it may import; "*" allows any.
	ours []string
	// forbidden lists outside import path prefixes it must not use.
	forbidden []string
}

// periphHost may be imported only by cmd/.
const periphHost = "periph.io/x/host"

// leaf is the internal package every layer may import: it imports nothing
// of ours.
const leaf = "internal/backoff"

var rules = map[string]rule{
	leaf:                {ours: nil, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
	"protocol/engineio": {ours: []string{leaf}, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
	"protocol/socketio": {ours: []string{"protocol/engineio", leaf}, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
	"protocol/senml":    {ours: []string{leaf}, forbidden: []string{periphHost}},
	"store":             {ours: []string{leaf}, forbidden: []string{periphHost}},
	"sensors":           {ours: []string{leaf}, forbidden: []string{periphHost}},
	// A driver (or helper) under sensors/ may use the sensors API, the
	// shared internals and config's decoding, never another driver.
	"sensors/":         {ours: []string{"sensors", "sensors/internal/", "config", "protocol/senml", leaf}, forbidden: []string{periphHost}},
	"sensors/drivers":  {ours: []string{"config", "sensors/"}, forbidden: []string{periphHost}},
	"sensors/internal": {ours: []string{"sensors", "sensors/internal/", "config", leaf}, forbidden: []string{periphHost}},
	"outbox":           {ours: []string{"store", "protocol/", "wire", leaf}, forbidden: []string{periphHost}},
	// wire is the wire contract: typed definitions over the client, below
	// everything that sends or answers them.
	"wire":   {ours: []string{"protocol/socketio", leaf}, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
	"config": {ours: []string{"protocol/senml", leaf}, forbidden: []string{periphHost}},
	// metrics writes the Prometheus text format: the standard library
	// only, so it costs the binary what it uses.
	"metrics": {ours: nil, forbidden: []string{periphHost, "go.etcd.io/bbolt", "github.com/prometheus/"}},
	// The stored readings batch and its conversion to SenML: below agent,
	// above outbox.
	"telemetry": {ours: []string{"protocol/senml", "sensors", "outbox", "wire", leaf}, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
	// The agent opens sensors through sensors.Spec and knows no driver.
	"agent": {ours: []string{"protocol/", "store", "outbox", "telemetry", "wire", "sensors", "sensors/clock", "config", "metrics", "internal/"}, forbidden: []string{periphHost}},
	// The remote configuration's overlay and rollback: above agent (it
	// answers the agent's commands through agent.RemoteConfig), below cmd.
	"remoteconfig": {ours: []string{"agent", "config", "wire", leaf}, forbidden: []string{periphHost, "go.etcd.io/bbolt"}},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// ruleFor finds the rule of a package or of the nearest parent with one.
func ruleFor(rel string) (rule, bool) {
	for name := rel; name != ""; {
		if r, ok := rules[name]; ok {
			return r, true
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			break
		}
		name = name[:i]
		if r, ok := rules[name+"/"]; ok {
			return r, true
		}
	}
	return rule{}, false
}

func allowed(r rule, dep string) bool {
	for _, o := range r.ours {
		if o == "*" || dep == o || (strings.HasSuffix(o, "/") && strings.HasPrefix(dep, o)) {
			return true
		}
	}
	return false
}

func TestDependencyDirection(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		r, ok := ruleFor(rel)
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, periphHost) && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("%s imports %s: only cmd/ may", rel, imp)
			}
			if !ok {
				continue
			}
			for _, f := range r.forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s must not import %s", rel, imp)
				}
			}
			if dep, ours := strings.CutPrefix(imp, module+"/"); ours && !allowed(r, dep) {
				t.Errorf("%s must not import %s (see docs/ARCHITECTURE.md, Layers)", rel, dep)
			}
		}
	}
}

func TestRulesCanFail(t *testing.T) {
	r, ok := ruleFor("protocol/socketio")
	if !ok || allowed(r, "store") || !allowed(r, "protocol/engineio") || !allowed(r, leaf) || allowed(r, "internal/nodeserver") {
		t.Fatal("the protocol/socketio rule does not say what the layers say: engineio and internal leaf packages only")
	}
	if r, _ := ruleFor("agent"); !allowed(r, "protocol/socketio") || !allowed(r, "outbox") || allowed(r, "cmd/sioagent") {
		t.Fatal("the agent rule does not say what the layers say")
	}
	if r, _ := ruleFor("telemetry"); !allowed(r, "outbox") || allowed(r, "agent") || allowed(r, "store") {
		t.Fatal("the telemetry rule does not say that it sits below agent and above outbox")
	}
	if r, _ := ruleFor("wire"); !allowed(r, "protocol/socketio") || allowed(r, "outbox") || allowed(r, "agent") || allowed(r, "store") {
		t.Fatal("the wire rule does not say that it sits on the client, below outbox and agent")
	}
	if r, _ := ruleFor("outbox"); !allowed(r, "wire") || !allowed(r, "store") || !allowed(r, "protocol/socketio") || !allowed(r, leaf) || allowed(r, "agent") || allowed(r, "internal/nodeserver") {
		t.Fatal("the outbox rule does not say what the layers say")
	}
	if r, ok := ruleFor(leaf); !ok || allowed(r, "protocol/socketio") || allowed(r, "store") || allowed(r, "internal/testenv") {
		t.Fatal("the internal leaf package may import something of ours")
	}
	for _, layer := range []string{"protocol/engineio", "protocol/senml", "store", "sensors", "sensors/bme280", "config"} {
		if r, _ := ruleFor(layer); !allowed(r, leaf) || allowed(r, "internal/nodeserver") {
			t.Fatalf("the %s rule does not allow the leaf package %s, or allows a test helper", layer, leaf)
		}
	}
	if r, _ := ruleFor("config"); allowed(r, "sensors/bme280") || allowed(r, "sensors") || allowed(r, "sensors/drivers") {
		t.Fatal("the config rule lets config import a driver")
	}
	if r, _ := ruleFor("sensors/bme280"); !allowed(r, "sensors") || !allowed(r, "config") || !allowed(r, "sensors/internal/i2cconf") ||
		allowed(r, "sensors/sht3x") || allowed(r, "agent") {
		t.Fatal("the rule of a driver under sensors/ does not keep drivers independent")
	}
	if r, _ := ruleFor("sensors"); allowed(r, "config") || allowed(r, "sensors/gpio") {
		t.Fatal("the sensors rule lets the sensors API import config or a driver")
	}
	if r, _ := ruleFor("sensors/drivers"); !allowed(r, "sensors/gpio") || allowed(r, "agent") {
		t.Fatal("the sensors/drivers rule does not let it list the drivers, or lets it import the agent")
	}
	if r, _ := ruleFor("agent"); allowed(r, "sensors/gpio") || allowed(r, "sensors/drivers") {
		t.Fatal("the agent rule lets the agent import a driver")
	}
	if r, _ := ruleFor("remoteconfig"); !allowed(r, "agent") || !allowed(r, "config") || allowed(r, "store") || allowed(r, "sensors/drivers") {
		t.Fatal("the remoteconfig rule does not say that it sits on agent and config, beside the outbox, knowing no driver")
	}
	if r, _ := ruleFor("agent"); allowed(r, "remoteconfig") {
		t.Fatal("the agent rule lets the agent import remoteconfig, which sits above it")
	}
}
