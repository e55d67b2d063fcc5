package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// binaryKey marks binary data in command-line JSON: {"$binary":"<base64>"}.
const binaryKey = "$binary"

// parseArg parses one command-line argument as JSON, turning every
// {"$binary":"<base64>"} object into []byte so it is sent as a binary
// attachment. Numbers keep their exact text.
func parseArg(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: argument %q is not JSON: %v", errUsage, s, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: argument %q has trailing data", errUsage, s)
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if b, ok := v[binaryKey]; ok && len(v) == 1 {
			s, ok := b.(string)
			if !ok {
				return nil, fmt.Errorf("%w: %s must be a base64 string", errUsage, binaryKey)
			}
			data, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", errUsage, binaryKey, err)
			}
			return data, nil
		}
		for k, e := range v {
			conv, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			v[k] = conv
		}
		return v, nil
	case []any:
		for i, e := range v {
			conv, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			v[i] = conv
		}
		return v, nil
	default:
		return v, nil
	}
}

// toJSON turns a generic value from socketio.Args.Values into one that
// marshals with binary data shown as {"$binary":"<base64>"}.
func toJSON(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]string{binaryKey: base64.StdEncoding.EncodeToString(v)}
	case map[string]any:
		for k, e := range v {
			v[k] = toJSON(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = toJSON(e)
		}
		return v
	default:
		return v
	}
}

// marshalLine encodes v as one line of JSON without HTML escaping.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
