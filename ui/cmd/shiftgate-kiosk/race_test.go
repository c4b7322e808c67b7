//go:build race

package main

// raceEnabled says this test binary runs with the race detector; the kiosk
// it builds does too, so it reuses the packages this build compiled.
const raceEnabled = true
