// Command floor is the smallest Go program that makes one HTTPS request:
// net/http and crypto/tls, nothing else. The size check measures
// sioagent against it (cross/size).
package main

import "net/http"

func main() {
	resp, err := http.Get("https://example.com/")
	if err != nil {
		return
	}
	resp.Body.Close()
}
