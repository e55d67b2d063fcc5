package sht3x

import "fmt"

// CRC-8 parameters (Sensirion): x^8+x^5+x^4+1, init 0xFF, no reflection,
// no final XOR.
const (
	crcPoly = 0x31
	crcInit = 0xFF
)

// Full scale of a raw 16-bit value.
const rawFull = 65535

// CRC returns the Sensirion CRC-8 of b.
func CRC(b []byte) byte {
	c := byte(crcInit)
	for _, x := range b {
		c ^= x
		for i := 0; i < 8; i++ {
			if c&0x80 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// words decodes big-endian words each followed by its CRC.
func words(b []byte) ([]uint16, error) {
	if len(b)%3 != 0 {
		return nil, fmt.Errorf("reply of %d bytes is not whole words", len(b))
	}
	w := make([]uint16, 0, len(b)/3)
	for i := 0; i < len(b); i += 3 {
		if got, want := b[i+2], CRC(b[i:i+2]); got != want {
			return nil, fmt.Errorf("CRC mismatch on word %d (0x%02x%02x): got 0x%02x, want 0x%02x",
				i/3, b[i], b[i+1], got, want)
		}
		w = append(w, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return w, nil
}

// Temperature converts a raw temperature to °C: -45 + 175·S/65535 (both
// families).
func Temperature(s uint16) float64 {
	return -45 + 175*float64(s)/rawFull
}

// SHT3xHumidity converts a raw SHT3x humidity to %RH: 100·S/65535.
func SHT3xHumidity(s uint16) float64 {
	return 100 * float64(s) / rawFull
}

// SHT4xHumidity converts a raw SHT4x humidity to %RH: -6 + 125·S/65535,
// clamped to 0..100 as Sensirion recommends.
func SHT4xHumidity(s uint16) float64 {
	rh := -6 + 125*float64(s)/rawFull
	return min(max(rh, 0), 100)
}
