package remoteconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
)

// Files of the state directory.
const (
	// OverlayFileName holds the remote change in effect, a TOML document
	// of the tables it sets (absent when there is none).
	OverlayFileName = "remote-config.toml"
	// StateFileName holds whether that change is pending, the overlay to
	// go back to, and the last rollback (JSON, see state).
	StateFileName = "remote-config.state"
	// fileMode is the mode of both: the agent's user only.
	fileMode = 0o600
	// stateVersion is the version of the state file's layout.
	stateVersion = 1
	// maxStateBytes bounds the state file, which holds at most one
	// overlay (the previous one) of at most config.MaxFileSize.
	maxStateBytes = 2*config.MaxFileSize + 64<<10
)

// state is the state file's content.
type state struct {
	Version int `json:"version"`
	// Pending says the overlay file holds a change not confirmed yet:
	// at start it is rolled back to Previous.
	Pending bool `json:"pending"`
	// Hash and Deadline are the pending change's.
	Hash     string    `json:"hash,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Previous is the overlay (TOML text, "" for none) to go back to
	// from the pending change.
	Previous string `json:"previous"`
	// LastRollback is the last change rolled back, if any.
	LastRollback *agent.Rollback `json:"lastRollback,omitempty"`
}

// readState reads the state file of dir; a missing file is the zero
// state (no remote change was ever applied).
func readState(dir string) (state, error) {
	data, err := readFile(filepath.Join(dir, StateFileName), maxStateBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return state{Version: stateVersion}, nil
	}
	if err != nil {
		return state{}, err
	}
	var st state
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return state{}, fmt.Errorf("%s: %w", filepath.Join(dir, StateFileName), err)
	}
	if st.Version != stateVersion {
		return state{}, fmt.Errorf("%s: version %d, this agent reads %d", filepath.Join(dir, StateFileName), st.Version, stateVersion)
	}
	return st, nil
}

// writeState durably replaces the state file of dir with st.
func writeState(dir string, st state) error {
	st.Version = stateVersion
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFile(dir, StateFileName, data)
}

// readOverlay reads the overlay file of dir; a missing file is no
// overlay ("").
func readOverlay(dir string) (string, error) {
	data, err := readFile(filepath.Join(dir, OverlayFileName), config.MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(data), err
}

// writeOverlay durably replaces the overlay file of dir with text, or
// removes it when text is "".
func writeOverlay(dir, text string) error {
	if text == "" {
		err := os.Remove(filepath.Join(dir, OverlayFileName))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return syncDir(dir)
	}
	return writeFile(dir, OverlayFileName, []byte(text))
}

// readFile reads path, failing when it is larger than limit bytes.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// writeFile durably replaces dir/name with data: a temporary file in dir,
// fsynced, renamed over name, then the directory fsynced, so that a crash
// or power cut leaves either the old content or the new one.
func writeFile(dir, name string, data []byte) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, name+".tmp")
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
		}
	}()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, so that a rename or removal in it is
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
