// Package bench measures how fast events move from a plugin process to its
// host: plugctl's SDK and host library against two baselines run in
// the same go test invocation, one JSON object per length-prefixed frame
// and hashicorp/go-plugin gRPC streaming in batches. It also measures how
// soon a single event reaches the host.
//
// The package has only benchmarks and their self-checks (bench_test.go);
// the plugins are under plugins/ and the table printer is cmd/benchtable.
// See README.md.
package bench
