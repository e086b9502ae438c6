package clipdb

import (
	"context"

	"google.golang.org/protobuf/proto"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// CreateCollection creates a collection (ALREADY_EXISTS if the name is
// taken). A request with neither Dimension nor Vectorizer makes a CLIP
// collection of the server model's dimension; with a Dimension, a raw-vector
// one. Not retried.
func (c *Client) CreateCollection(ctx context.Context, req *CreateCollectionRequest) (*CollectionInfo, error) {
	if req == nil {
		return nil, invalid("CreateCollection", "nil request")
	}
	if req.GetDimension() == 0 && req.GetVectorizer() == VectorizerNone {
		req = proto.Clone(req).(*CreateCollectionRequest)
		req.Vectorizer = VectorizerCLIP
	}
	return call(ctx, c, "CreateCollection", false, c.collections.CreateCollection, req)
}

// GetCollection describes one collection (NOT_FOUND if it does not exist).
func (c *Client) GetCollection(ctx context.Context, name string) (*CollectionInfo, error) {
	return call(ctx, c, "GetCollection", true, c.collections.GetCollection,
		&pb.GetCollectionRequest{Name: name})
}

// ListCollections lists every collection, ordered by name.
func (c *Client) ListCollections(ctx context.Context) ([]*CollectionInfo, error) {
	resp, err := call(ctx, c, "ListCollections", true, c.collections.ListCollections,
		&pb.ListCollectionsRequest{})
	return resp.GetCollections(), err
}

// CollectionExists tells whether a collection of this name exists.
func (c *Client) CollectionExists(ctx context.Context, name string) (bool, error) {
	_, err := c.GetCollection(ctx, name)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// DeleteCollection drops a collection and all its points (NOT_FOUND if it
// does not exist); its snapshots are kept. Not retried.
func (c *Client) DeleteCollection(ctx context.Context, name string) error {
	_, err := call(ctx, c, "DeleteCollection", false, c.collections.DeleteCollection,
		&pb.DeleteCollectionRequest{Name: name})
	return err
}

// CreatePayloadIndex indexes a payload field (dotted for nested objects) so
// that filters on it are answered from the index. It returns at once; the
// index is built in the background.
func (c *Client) CreatePayloadIndex(ctx context.Context, collection, key string, typ PayloadIndexType) (*PayloadIndexInfo, error) {
	return call(ctx, c, "CreatePayloadIndex", true, c.collections.CreatePayloadIndex,
		&pb.CreatePayloadIndexRequest{Collection: collection, Key: key, Type: typ})
}

// DeletePayloadIndex drops the payload index on key (NOT_FOUND if none).
func (c *Client) DeletePayloadIndex(ctx context.Context, collection, key string) error {
	_, err := call(ctx, c, "DeletePayloadIndex", false, c.collections.DeletePayloadIndex,
		&pb.DeletePayloadIndexRequest{Collection: collection, Key: key})
	return err
}

// CreateSnapshot writes a consistent snapshot (backup) of a collection to
// the server's data directory and describes it. Not retried.
func (c *Client) CreateSnapshot(ctx context.Context, collection string) (*SnapshotInfo, error) {
	return call(ctx, c, "CreateSnapshot", false, c.collections.CreateSnapshot,
		&pb.CreateSnapshotRequest{Collection: collection})
}

// ListSnapshots lists the snapshots of a collection, or of every collection
// when collection is "", oldest first.
func (c *Client) ListSnapshots(ctx context.Context, collection string) ([]*SnapshotInfo, error) {
	resp, err := call(ctx, c, "ListSnapshots", true, c.collections.ListSnapshots,
		&pb.ListSnapshotsRequest{Collection: collection})
	return resp.GetSnapshots(), err
}

// DeleteSnapshot deletes one snapshot file. Not retried.
func (c *Client) DeleteSnapshot(ctx context.Context, collection, name string) error {
	_, err := call(ctx, c, "DeleteSnapshot", false, c.collections.DeleteSnapshot,
		&pb.DeleteSnapshotRequest{Collection: collection, Name: name})
	return err
}
