package sht3x

import (
	"math"
	"strings"
	"testing"
)

func TestCRC(t *testing.T) {
	tests := []struct {
		in   []byte
		want byte
	}{
		{[]byte{0xBE, 0xEF}, 0x92}, // datasheet example
		{[]byte{0x01, 0xA4}, 0x4D}, // periph common/crc_test.go
		{[]byte{0xAB, 0xCD}, 0x6F},
		{[]byte{0x00, 0x00}, 0x81},
		{[]byte{}, 0xFF}, // the init value
	}
	for _, tt := range tests {
		if got := CRC(tt.in); got != tt.want {
			t.Errorf("CRC(% x) = %#02x, want %#02x", tt.in, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	w, err := words([]byte{0xBE, 0xEF, 0x92, 0x01, 0xA4, 0x4D})
	if err != nil || len(w) != 2 || w[0] != 0xBEEF || w[1] != 0x01A4 {
		t.Fatalf("got %x, %v", w, err)
	}
	_, err = words([]byte{0xBE, 0xEF, 0x92, 0x01, 0xA4, 0x4E})
	if err == nil || !strings.Contains(err.Error(), "word 1") {
		t.Fatalf("bad CRC on word 1: got %v", err)
	}
	if _, err := words([]byte{0xBE, 0xEF}); err == nil {
		t.Fatal("short reply accepted")
	}
}

func TestConversions(t *testing.T) {
	const eps = 1e-9
	tests := []struct {
		name string
		f    func(uint16) float64
		in   uint16
		want float64
	}{
		{"T min", Temperature, 0, -45},
		{"T max", Temperature, 0xFFFF, 130},
		{"T 0x6666", Temperature, 0x6666, 25},                      // 26214/65535 = 0.4
		{"T 0x6148", Temperature, 0x6148, -45 + 175*24904.0/65535}, // ≈ 21.50
		{"SHT3x RH min", SHT3xHumidity, 0, 0},
		{"SHT3x RH max", SHT3xHumidity, 0xFFFF, 100},
		{"SHT3x RH 0x8000", SHT3xHumidity, 0x8000, 100 * 32768.0 / 65535},  // ≈ 50.0008
		{"SHT4x RH clamps low", SHT4xHumidity, 0, 0},                       // -6 → 0
		{"SHT4x RH clamps high", SHT4xHumidity, 0xFFFF, 100},               // 119 → 100
		{"SHT4x RH 0x8000", SHT4xHumidity, 0x8000, -6 + 125*32768.0/65535}, // ≈ 56.5019
		{"SHT4x RH 0x0C49 clamps", SHT4xHumidity, 0x0C49, 0},               // -0.0013 → 0
		{"SHT4x RH 0x0C4A", SHT4xHumidity, 0x0C4A, -6 + 125*3146.0/65535},  // +0.0006
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); math.Abs(got-tt.want) > eps {
			t.Errorf("%s: f(%#04x) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}
