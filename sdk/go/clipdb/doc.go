// Package clipdb is the Go client of clipdb, a vector database server for
// text-to-image search with CLIP. It wraps the gRPC stubs generated from
// proto/clipdb/v1/clipdb.proto (package
// github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1) in an idiomatic API:
//
//	db, err := clipdb.Dial(ctx, "127.0.0.1:50051", clipdb.WithAPIKey(key))
//	if err != nil { ... }
//	defer db.Close()
//	_, err = db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: "photos"}) // CLIP
//	_, err = db.Upsert(ctx, "photos", []clipdb.Point{{ID: "1", Image: jpeg, Text: "a cat"}})
//	hits, err := db.Search(ctx, &clipdb.SearchRequest{Collection: "photos", Text: "a black cat", Limit: 5})
//
// Every failed call returns an *Error, which carries the gRPC status code and
// the server's message and stays convertible with status.FromError; IsNotFound,
// IsInvalidArgument and friends test for one code. Idempotent calls are retried
// on UNAVAILABLE and RESOURCE_EXHAUSTED with exponential backoff (see
// RetryPolicy).
package clipdb
