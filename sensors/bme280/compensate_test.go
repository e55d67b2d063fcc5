package bme280

import "testing"

// Vector 1: BMP280 datasheet worked example (§3.12). The integer results
// are those of the Bosch integer formulas (pi-deploy.md §2.1).
var datasheetCal = calibration{
	T1: 27504, T2: 26435, T3: -1000,
	P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
}

// Vector 2: periph bmx280_test.go TestCalibration280Int (a real device).
var periphCal = calibration{
	T1: 28176, T2: 26220, T3: 350,
	P1: 38237, P2: -10824, P3: 3024, P4: 7799, P5: -99, P6: -7, P7: 9900, P8: -10230, P9: 4285,
	H1: 75, H2: 366, H3: 0, H4: 309, H5: 0, H6: 30,
}

func TestCompensation(t *testing.T) {
	tests := []struct {
		name             string
		cal              calibration
		adcT, adcP, adcH int32
		tFine, centi     int32
		p                uint32
		h                uint32 // 0: not checked
	}{
		{"BMP280 datasheet", datasheetCal, 519888, 415148, 0, 128422, 2508, 25767233, 0},
		{"periph device", periphCal, 524112, 309104, 30987, 117407, 2293, 25611063, 64686},
	}
	for _, tt := range tests {
		centi, tFine := tt.cal.temperature(tt.adcT)
		if tFine != tt.tFine || centi != tt.centi {
			t.Errorf("%s: temperature = %d (t_fine %d), want %d (t_fine %d)", tt.name, centi, tFine, tt.centi, tt.tFine)
		}
		p, ok := tt.cal.pressure(tt.adcP, tFine)
		if !ok || p != tt.p {
			t.Errorf("%s: pressure = %d, %v, want %d", tt.name, p, ok, tt.p)
		}
		if tt.h != 0 {
			if h := tt.cal.humidity(tt.adcH, tFine); h != tt.h {
				t.Errorf("%s: humidity = %d, want %d", tt.name, h, tt.h)
			}
		}
	}
}

func TestPressureZeroCalibration(t *testing.T) {
	c := datasheetCal
	c.P1 = 0
	if p, ok := c.pressure(415148, 128422); ok || p != 0 {
		t.Fatalf("pressure with P1=0 = %d, %v; want 0, false", p, ok)
	}
}

func TestHumidityClamp(t *testing.T) {
	if h := periphCal.humidity(0, 117407); h != 0 {
		t.Errorf("humidity(raw 0) = %d, want 0 (clamped)", h)
	}
	if h := periphCal.humidity(0xFFFF, 117407); h != humidityMaxQ>>12 {
		t.Errorf("humidity(raw 0xFFFF) = %d, want %d (100 %%RH, clamped)", h, humidityMaxQ>>12)
	}
}

func TestParseCalibration(t *testing.T) {
	// Vector 2 as the chip stores it.
	tp := []byte{
		0x10, 0x6e, 0x6c, 0x66, 0x5e, 0x01, // T1 28176, T2 26220, T3 350
		0x5d, 0x95, 0xb8, 0xd5, 0xd0, 0x0b, // P1 38237, P2 -10824, P3 3024
		0x77, 0x1e, 0x9d, 0xff, 0xf9, 0xff, // P4 7799, P5 -99, P6 -7
		0xac, 0x26, 0x0a, 0xd8, 0xbd, 0x10, // P7 9900, P8 -10230, P9 4285
		0x00, 0x4b, // 0xA0 unused, H1 75
	}
	// H2 366; H3 0; H4 = 0x13<<4 | 0x5 = 309; H5 = 0x00<<4 | 0x0 = 0; H6 30.
	h := []byte{0x6e, 0x01, 0x00, 0x13, 0x05, 0x00, 0x1e}
	if got := parseCalibration(tp, h); got != periphCal {
		t.Fatalf("got  %+v\nwant %+v", got, periphCal)
	}
	// BMP280: no humidity block.
	want := periphCal
	want.H2, want.H3, want.H4, want.H5, want.H6 = 0, 0, 0, 0, 0
	if got := parseCalibration(tp, nil); got != want {
		t.Fatalf("BMP: got %+v\nwant %+v", got, want)
	}
}

func TestParseCalibrationSignExtendsH4H5(t *testing.T) {
	// E4=0xF0 E5=0x3A E6=0xFE: H4 = int8(0xF0)*16 | 0xA = -256|10 = -246,
	// H5 = int8(0xFE)*16 | 0x3 = -32|3 = -29. Without sign extension they
	// would be 3850 and 4067.
	tp := make([]byte, calibTPLen)
	c := parseCalibration(tp, []byte{0, 0, 0, 0xF0, 0x3A, 0xFE, 0xFF})
	if c.H4 != -246 || c.H5 != -29 || c.H6 != -1 {
		t.Fatalf("H4 %d H5 %d H6 %d, want -246 -29 -1", c.H4, c.H5, c.H6)
	}
}

func TestParseRaw(t *testing.T) {
	// adc_P 415148 = 0x655AC, adc_T 519888 = 0x7EED0, adc_H 30987 = 0x790B.
	got := parseRaw([]byte{0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00, 0x79, 0x0b})
	if want := (raw{P: 415148, T: 519888, H: 30987}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := parseRaw([]byte{0x80, 0, 0, 0x80, 0, 0}); got != (raw{P: skippedTP, T: skippedTP}) {
		t.Fatalf("skipped: got %+v", got)
	}
}

func TestMeasureTime(t *testing.T) {
	x1 := settings{osT: 1, osP: 1, osH: 1}
	// 1.25 + 2.3 + (2.3+0.575) + (2.3+0.575) = 9.3 ms.
	if got := measureTime(x1, true); got.Microseconds() != 9300 {
		t.Errorf("BME x1: %v, want 9.3ms", got)
	}
	if got := measureTime(x1, false); got.Microseconds() != 6425 {
		t.Errorf("BMP x1: %v, want 6.425ms", got)
	}
	x16 := settings{osT: 5, osP: 5, osH: 5}
	// 1.25 + 36.8 + 37.375 + 37.375 = 112.8 ms.
	if got := measureTime(x16, true); got.Microseconds() != 112800 {
		t.Errorf("BME x16: %v, want 112.8ms", got)
	}
}
