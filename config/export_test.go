package config

// Internals for the tests of package config_test.
var (
	EditDistance = editDistance
	Suggest      = suggest
)

// SectionKeys returns the keys of each section but [[sensors]].
func SectionKeys() map[string][]string {
	return map[string][]string{
		"device": deviceKeys, "server": serverKeys, "outbox": outboxKeys, "telemetry": telemetryKeys,
		"commands": commandsKeys, "agent": agentKeys, "clock": clockKeys, "remote_config": remoteKeys,
	}
}
