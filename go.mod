module github.com/sioagent/sioagent

go 1.26

require (
	github.com/gorilla/websocket v1.5.3
	go.etcd.io/bbolt v1.5.0
	go.uber.org/goleak v1.3.0
	pgregory.net/rapid v1.3.0
)

require golang.org/x/sys v0.45.0 // indirect
