// Package eventspb holds the protocol buffer messages and gRPC service of
// the go-plugin streaming baseline, generated from events.proto.
//
// Regenerate with protoc, protoc-gen-go and protoc-gen-go-grpc on PATH:
//
//	go generate ./proto
package eventspb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative events.proto
