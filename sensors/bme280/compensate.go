package bme280

import "encoding/binary"

// Lengths of the calibration blocks.
const (
	calibTPLen = 26 // 0x88..0xA1: dig_T1..dig_P9, 0xA0 (unused), dig_H1
	calibHLen  = 7  // 0xE1..0xE7: dig_H2..dig_H6
)

// Skipped-measurement values of the raw ADC outputs.
const (
	skippedTP = 0x80000
	skippedH  = 0x8000
)

// Limits of the humidity compensation (datasheet §4.2.3).
const humidityMaxQ = 419430400 // 100 %RH in the pre-shift Q-format

// calibration holds the trimming parameters of one chip.
type calibration struct {
	T1                             uint16
	T2, T3                         int16
	P1                             uint16
	P2, P3, P4, P5, P6, P7, P8, P9 int16
	H1                             uint8
	H2                             int16
	H3                             uint8
	H4, H5                         int16
	H6                             int8
}

// parseCalibration decodes the 0x88..0xA1 block tp and, for a BME280, the
// 0xE1..0xE7 block h (nil for a BMP280). Words are little-endian. dig_H4 and
// dig_H5 are 12-bit signed values split over three bytes; like the Bosch
// API, the MSB bytes E4 and E6 are sign-extended.
func parseCalibration(tp []byte, h []byte) calibration {
	le := binary.LittleEndian
	c := calibration{
		T1: le.Uint16(tp[0:]),
		T2: int16(le.Uint16(tp[2:])),
		T3: int16(le.Uint16(tp[4:])),
		P1: le.Uint16(tp[6:]),
		P2: int16(le.Uint16(tp[8:])),
		P3: int16(le.Uint16(tp[10:])),
		P4: int16(le.Uint16(tp[12:])),
		P5: int16(le.Uint16(tp[14:])),
		P6: int16(le.Uint16(tp[16:])),
		P7: int16(le.Uint16(tp[18:])),
		P8: int16(le.Uint16(tp[20:])),
		P9: int16(le.Uint16(tp[22:])),
		// tp[24] is register 0xA0, not used.
		H1: tp[25],
	}
	if h != nil {
		c.H2 = int16(le.Uint16(h[0:]))
		c.H3 = h[2]
		c.H4 = int16(int8(h[3]))*16 | int16(h[4]&0x0F)
		c.H5 = int16(int8(h[5]))*16 | int16(h[4]>>4)
		c.H6 = int8(h[6])
	}
	return c
}

// raw is one burst of ADC outputs.
type raw struct {
	P, T int32 // 20-bit
	H    int32 // 16-bit; 0 on a BMP280
}

// parseRaw decodes the 0xF7.. burst: 6 bytes (BMP280) or 8 bytes (BME280).
func parseRaw(b []byte) raw {
	r := raw{
		P: int32(b[0])<<12 | int32(b[1])<<4 | int32(b[2])>>4,
		T: int32(b[3])<<12 | int32(b[4])<<4 | int32(b[5])>>4,
	}
	if len(b) >= 8 {
		r.H = int32(b[6])<<8 | int32(b[7])
	}
	return r
}

// temperature returns the temperature in 0.01 °C and t_fine, the
// fine-resolution temperature the pressure and humidity compensation need
// (Bosch integer formula, datasheet BME280 §4.2.3 / BMP280 §3.11.3).
func (c *calibration) temperature(adcT int32) (centi, tFine int32) {
	t1 := int32(c.T1)
	v1 := (((adcT >> 3) - (t1 << 1)) * int32(c.T2)) >> 11
	d := (adcT >> 4) - t1
	v2 := (((d * d) >> 12) * int32(c.T3)) >> 14
	tFine = v1 + v2
	return (tFine*5 + 128) >> 8, tFine
}

// pressure returns the pressure in Pa as unsigned Q24.8 (divide by 256)
// with the 64-bit Bosch formula. ok is false when the calibration would
// divide by zero.
func (c *calibration) pressure(adcP, tFine int32) (q24_8 uint32, ok bool) {
	v1 := int64(tFine) - 128000
	v2 := v1 * v1 * int64(c.P6)
	v2 += (v1 * int64(c.P5)) << 17
	v2 += int64(c.P4) << 35
	v1 = ((v1 * v1 * int64(c.P3)) >> 8) + ((v1 * int64(c.P2)) << 12)
	v1 = ((int64(1) << 47) + v1) * int64(c.P1) >> 33
	if v1 == 0 {
		return 0, false
	}
	p := int64(1048576 - adcP)
	p = (((p << 31) - v2) * 3125) / v1
	v1 = (int64(c.P9) * (p >> 13) * (p >> 13)) >> 25
	v2 = (int64(c.P8) * p) >> 19
	p = ((p + v1 + v2) >> 8) + (int64(c.P7) << 4)
	return uint32(p), true
}

// humidity returns the relative humidity in %RH as unsigned Q22.10 (divide
// by 1024) with the 32-bit Bosch formula, clamped to 0..100 %RH.
func (c *calibration) humidity(adcH, tFine int32) uint32 {
	x := tFine - 76800
	x = (((adcH << 14) - (int32(c.H4) << 20) - (int32(c.H5) * x) + 16384) >> 15) *
		(((((((x*int32(c.H6))>>10)*(((x*int32(c.H3))>>11)+32768))>>10)+2097152)*int32(c.H2) + 8192) >> 14)
	x -= ((((x >> 15) * (x >> 15)) >> 7) * int32(c.H1)) >> 4
	if x < 0 {
		x = 0
	}
	if x > humidityMaxQ {
		x = humidityMaxQ
	}
	return uint32(x >> 12)
}
