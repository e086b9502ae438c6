package io.clipdb.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Creates, inspects and drops collections.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class CollectionsGrpc {

  private CollectionsGrpc() {}

  public static final java.lang.String SERVICE_NAME = "clipdb.v1.Collections";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.CreateCollectionRequest,
      io.clipdb.v1.CollectionInfo> getCreateCollectionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateCollection",
      requestType = io.clipdb.v1.CreateCollectionRequest.class,
      responseType = io.clipdb.v1.CollectionInfo.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.CreateCollectionRequest,
      io.clipdb.v1.CollectionInfo> getCreateCollectionMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.CreateCollectionRequest, io.clipdb.v1.CollectionInfo> getCreateCollectionMethod;
    if ((getCreateCollectionMethod = CollectionsGrpc.getCreateCollectionMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getCreateCollectionMethod = CollectionsGrpc.getCreateCollectionMethod) == null) {
          CollectionsGrpc.getCreateCollectionMethod = getCreateCollectionMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.CreateCollectionRequest, io.clipdb.v1.CollectionInfo>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateCollection"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CreateCollectionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CollectionInfo.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("CreateCollection"))
              .build();
        }
      }
    }
    return getCreateCollectionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.GetCollectionRequest,
      io.clipdb.v1.CollectionInfo> getGetCollectionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCollection",
      requestType = io.clipdb.v1.GetCollectionRequest.class,
      responseType = io.clipdb.v1.CollectionInfo.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.GetCollectionRequest,
      io.clipdb.v1.CollectionInfo> getGetCollectionMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.GetCollectionRequest, io.clipdb.v1.CollectionInfo> getGetCollectionMethod;
    if ((getGetCollectionMethod = CollectionsGrpc.getGetCollectionMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getGetCollectionMethod = CollectionsGrpc.getGetCollectionMethod) == null) {
          CollectionsGrpc.getGetCollectionMethod = getGetCollectionMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.GetCollectionRequest, io.clipdb.v1.CollectionInfo>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCollection"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetCollectionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CollectionInfo.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("GetCollection"))
              .build();
        }
      }
    }
    return getGetCollectionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ListCollectionsRequest,
      io.clipdb.v1.ListCollectionsResponse> getListCollectionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCollections",
      requestType = io.clipdb.v1.ListCollectionsRequest.class,
      responseType = io.clipdb.v1.ListCollectionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ListCollectionsRequest,
      io.clipdb.v1.ListCollectionsResponse> getListCollectionsMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ListCollectionsRequest, io.clipdb.v1.ListCollectionsResponse> getListCollectionsMethod;
    if ((getListCollectionsMethod = CollectionsGrpc.getListCollectionsMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getListCollectionsMethod = CollectionsGrpc.getListCollectionsMethod) == null) {
          CollectionsGrpc.getListCollectionsMethod = getListCollectionsMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ListCollectionsRequest, io.clipdb.v1.ListCollectionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCollections"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ListCollectionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ListCollectionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("ListCollections"))
              .build();
        }
      }
    }
    return getListCollectionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.DeleteCollectionRequest,
      io.clipdb.v1.DeleteCollectionResponse> getDeleteCollectionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteCollection",
      requestType = io.clipdb.v1.DeleteCollectionRequest.class,
      responseType = io.clipdb.v1.DeleteCollectionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.DeleteCollectionRequest,
      io.clipdb.v1.DeleteCollectionResponse> getDeleteCollectionMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.DeleteCollectionRequest, io.clipdb.v1.DeleteCollectionResponse> getDeleteCollectionMethod;
    if ((getDeleteCollectionMethod = CollectionsGrpc.getDeleteCollectionMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getDeleteCollectionMethod = CollectionsGrpc.getDeleteCollectionMethod) == null) {
          CollectionsGrpc.getDeleteCollectionMethod = getDeleteCollectionMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.DeleteCollectionRequest, io.clipdb.v1.DeleteCollectionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteCollection"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteCollectionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteCollectionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("DeleteCollection"))
              .build();
        }
      }
    }
    return getDeleteCollectionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.CreateSnapshotRequest,
      io.clipdb.v1.SnapshotInfo> getCreateSnapshotMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateSnapshot",
      requestType = io.clipdb.v1.CreateSnapshotRequest.class,
      responseType = io.clipdb.v1.SnapshotInfo.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.CreateSnapshotRequest,
      io.clipdb.v1.SnapshotInfo> getCreateSnapshotMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.CreateSnapshotRequest, io.clipdb.v1.SnapshotInfo> getCreateSnapshotMethod;
    if ((getCreateSnapshotMethod = CollectionsGrpc.getCreateSnapshotMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getCreateSnapshotMethod = CollectionsGrpc.getCreateSnapshotMethod) == null) {
          CollectionsGrpc.getCreateSnapshotMethod = getCreateSnapshotMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.CreateSnapshotRequest, io.clipdb.v1.SnapshotInfo>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateSnapshot"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CreateSnapshotRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SnapshotInfo.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("CreateSnapshot"))
              .build();
        }
      }
    }
    return getCreateSnapshotMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ListSnapshotsRequest,
      io.clipdb.v1.ListSnapshotsResponse> getListSnapshotsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListSnapshots",
      requestType = io.clipdb.v1.ListSnapshotsRequest.class,
      responseType = io.clipdb.v1.ListSnapshotsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ListSnapshotsRequest,
      io.clipdb.v1.ListSnapshotsResponse> getListSnapshotsMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ListSnapshotsRequest, io.clipdb.v1.ListSnapshotsResponse> getListSnapshotsMethod;
    if ((getListSnapshotsMethod = CollectionsGrpc.getListSnapshotsMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getListSnapshotsMethod = CollectionsGrpc.getListSnapshotsMethod) == null) {
          CollectionsGrpc.getListSnapshotsMethod = getListSnapshotsMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ListSnapshotsRequest, io.clipdb.v1.ListSnapshotsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListSnapshots"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ListSnapshotsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ListSnapshotsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("ListSnapshots"))
              .build();
        }
      }
    }
    return getListSnapshotsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.DeleteSnapshotRequest,
      io.clipdb.v1.DeleteSnapshotResponse> getDeleteSnapshotMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteSnapshot",
      requestType = io.clipdb.v1.DeleteSnapshotRequest.class,
      responseType = io.clipdb.v1.DeleteSnapshotResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.DeleteSnapshotRequest,
      io.clipdb.v1.DeleteSnapshotResponse> getDeleteSnapshotMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.DeleteSnapshotRequest, io.clipdb.v1.DeleteSnapshotResponse> getDeleteSnapshotMethod;
    if ((getDeleteSnapshotMethod = CollectionsGrpc.getDeleteSnapshotMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getDeleteSnapshotMethod = CollectionsGrpc.getDeleteSnapshotMethod) == null) {
          CollectionsGrpc.getDeleteSnapshotMethod = getDeleteSnapshotMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.DeleteSnapshotRequest, io.clipdb.v1.DeleteSnapshotResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteSnapshot"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteSnapshotRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteSnapshotResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("DeleteSnapshot"))
              .build();
        }
      }
    }
    return getDeleteSnapshotMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.CreatePayloadIndexRequest,
      io.clipdb.v1.PayloadIndexInfo> getCreatePayloadIndexMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreatePayloadIndex",
      requestType = io.clipdb.v1.CreatePayloadIndexRequest.class,
      responseType = io.clipdb.v1.PayloadIndexInfo.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.CreatePayloadIndexRequest,
      io.clipdb.v1.PayloadIndexInfo> getCreatePayloadIndexMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.CreatePayloadIndexRequest, io.clipdb.v1.PayloadIndexInfo> getCreatePayloadIndexMethod;
    if ((getCreatePayloadIndexMethod = CollectionsGrpc.getCreatePayloadIndexMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getCreatePayloadIndexMethod = CollectionsGrpc.getCreatePayloadIndexMethod) == null) {
          CollectionsGrpc.getCreatePayloadIndexMethod = getCreatePayloadIndexMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.CreatePayloadIndexRequest, io.clipdb.v1.PayloadIndexInfo>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreatePayloadIndex"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CreatePayloadIndexRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.PayloadIndexInfo.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("CreatePayloadIndex"))
              .build();
        }
      }
    }
    return getCreatePayloadIndexMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadIndexRequest,
      io.clipdb.v1.DeletePayloadIndexResponse> getDeletePayloadIndexMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeletePayloadIndex",
      requestType = io.clipdb.v1.DeletePayloadIndexRequest.class,
      responseType = io.clipdb.v1.DeletePayloadIndexResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadIndexRequest,
      io.clipdb.v1.DeletePayloadIndexResponse> getDeletePayloadIndexMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadIndexRequest, io.clipdb.v1.DeletePayloadIndexResponse> getDeletePayloadIndexMethod;
    if ((getDeletePayloadIndexMethod = CollectionsGrpc.getDeletePayloadIndexMethod) == null) {
      synchronized (CollectionsGrpc.class) {
        if ((getDeletePayloadIndexMethod = CollectionsGrpc.getDeletePayloadIndexMethod) == null) {
          CollectionsGrpc.getDeletePayloadIndexMethod = getDeletePayloadIndexMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.DeletePayloadIndexRequest, io.clipdb.v1.DeletePayloadIndexResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeletePayloadIndex"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeletePayloadIndexRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeletePayloadIndexResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CollectionsMethodDescriptorSupplier("DeletePayloadIndex"))
              .build();
        }
      }
    }
    return getDeletePayloadIndexMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CollectionsStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CollectionsStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CollectionsStub>() {
        @java.lang.Override
        public CollectionsStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CollectionsStub(channel, callOptions);
        }
      };
    return CollectionsStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static CollectionsBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CollectionsBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CollectionsBlockingV2Stub>() {
        @java.lang.Override
        public CollectionsBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CollectionsBlockingV2Stub(channel, callOptions);
        }
      };
    return CollectionsBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CollectionsBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CollectionsBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CollectionsBlockingStub>() {
        @java.lang.Override
        public CollectionsBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CollectionsBlockingStub(channel, callOptions);
        }
      };
    return CollectionsBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CollectionsFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CollectionsFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CollectionsFutureStub>() {
        @java.lang.Override
        public CollectionsFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CollectionsFutureStub(channel, callOptions);
        }
      };
    return CollectionsFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Creates a collection. ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    default void createCollection(io.clipdb.v1.CreateCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateCollectionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Describes one collection. NOT_FOUND if it does not exist.
     * </pre>
     */
    default void getCollection(io.clipdb.v1.GetCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCollectionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists every collection, ordered by name.
     * </pre>
     */
    default void listCollections(io.clipdb.v1.ListCollectionsRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ListCollectionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCollectionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Drops a collection and all its data. NOT_FOUND if it does not exist.
     * Its snapshots are kept (they are backups).
     * </pre>
     */
    default void deleteCollection(io.clipdb.v1.DeleteCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteCollectionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteCollectionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Writes a snapshot (backup) of one collection to the server's data
     * directory, `DATA_DIR/snapshots/COLLECTION/NAME.snapshot`, and describes
     * it. The snapshot is the collection at one instant during the call: every
     * write acknowledged before the call started is in it, and every write is
     * in it whole or not at all. Reads and writes go on meanwhile. Restore it
     * offline with `clipdb snapshot restore FILE --data-dir DIR`. NOT_FOUND if
     * the collection does not exist.
     * </pre>
     */
    default void createSnapshot(io.clipdb.v1.CreateSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SnapshotInfo> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateSnapshotMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the snapshots of one collection (even one since dropped), or of
     * every collection, oldest first. NOT_FOUND for a collection that neither
     * exists nor has snapshots.
     * </pre>
     */
    default void listSnapshots(io.clipdb.v1.ListSnapshotsRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ListSnapshotsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListSnapshotsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes one snapshot file. NOT_FOUND if there is no such snapshot.
     * </pre>
     */
    default void deleteSnapshot(io.clipdb.v1.DeleteSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteSnapshotResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteSnapshotMethod(), responseObserver);
    }

    /**
     * <pre>
     * Indexes a payload field so that filters on it are answered from the
     * index instead of reading payloads. Returns at once; the index is built
     * over existing points in the background (state BUILDING, then READY;
     * filters are correct meanwhile, only slower) and kept in step with every
     * write. Recreating an existing index with the same type is a no-op;
     * another type is ALREADY_EXISTS (delete it first).
     * </pre>
     */
    default void createPayloadIndex(io.clipdb.v1.CreatePayloadIndexRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.PayloadIndexInfo> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreatePayloadIndexMethod(), responseObserver);
    }

    /**
     * <pre>
     * Drops a payload index (NOT_FOUND if there is none on that key).
     * </pre>
     */
    default void deletePayloadIndex(io.clipdb.v1.DeletePayloadIndexRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadIndexResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeletePayloadIndexMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service Collections.
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public static abstract class CollectionsImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return CollectionsGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service Collections.
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public static final class CollectionsStub
      extends io.grpc.stub.AbstractAsyncStub<CollectionsStub> {
    private CollectionsStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CollectionsStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CollectionsStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a collection. ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public void createCollection(io.clipdb.v1.CreateCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateCollectionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Describes one collection. NOT_FOUND if it does not exist.
     * </pre>
     */
    public void getCollection(io.clipdb.v1.GetCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCollectionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists every collection, ordered by name.
     * </pre>
     */
    public void listCollections(io.clipdb.v1.ListCollectionsRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ListCollectionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCollectionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Drops a collection and all its data. NOT_FOUND if it does not exist.
     * Its snapshots are kept (they are backups).
     * </pre>
     */
    public void deleteCollection(io.clipdb.v1.DeleteCollectionRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteCollectionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteCollectionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Writes a snapshot (backup) of one collection to the server's data
     * directory, `DATA_DIR/snapshots/COLLECTION/NAME.snapshot`, and describes
     * it. The snapshot is the collection at one instant during the call: every
     * write acknowledged before the call started is in it, and every write is
     * in it whole or not at all. Reads and writes go on meanwhile. Restore it
     * offline with `clipdb snapshot restore FILE --data-dir DIR`. NOT_FOUND if
     * the collection does not exist.
     * </pre>
     */
    public void createSnapshot(io.clipdb.v1.CreateSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SnapshotInfo> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateSnapshotMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the snapshots of one collection (even one since dropped), or of
     * every collection, oldest first. NOT_FOUND for a collection that neither
     * exists nor has snapshots.
     * </pre>
     */
    public void listSnapshots(io.clipdb.v1.ListSnapshotsRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ListSnapshotsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListSnapshotsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes one snapshot file. NOT_FOUND if there is no such snapshot.
     * </pre>
     */
    public void deleteSnapshot(io.clipdb.v1.DeleteSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteSnapshotResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteSnapshotMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Indexes a payload field so that filters on it are answered from the
     * index instead of reading payloads. Returns at once; the index is built
     * over existing points in the background (state BUILDING, then READY;
     * filters are correct meanwhile, only slower) and kept in step with every
     * write. Recreating an existing index with the same type is a no-op;
     * another type is ALREADY_EXISTS (delete it first).
     * </pre>
     */
    public void createPayloadIndex(io.clipdb.v1.CreatePayloadIndexRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.PayloadIndexInfo> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreatePayloadIndexMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Drops a payload index (NOT_FOUND if there is none on that key).
     * </pre>
     */
    public void deletePayloadIndex(io.clipdb.v1.DeletePayloadIndexRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadIndexResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeletePayloadIndexMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service Collections.
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public static final class CollectionsBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<CollectionsBlockingV2Stub> {
    private CollectionsBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CollectionsBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CollectionsBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a collection. ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public io.clipdb.v1.CollectionInfo createCollection(io.clipdb.v1.CreateCollectionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Describes one collection. NOT_FOUND if it does not exist.
     * </pre>
     */
    public io.clipdb.v1.CollectionInfo getCollection(io.clipdb.v1.GetCollectionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists every collection, ordered by name.
     * </pre>
     */
    public io.clipdb.v1.ListCollectionsResponse listCollections(io.clipdb.v1.ListCollectionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListCollectionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Drops a collection and all its data. NOT_FOUND if it does not exist.
     * Its snapshots are kept (they are backups).
     * </pre>
     */
    public io.clipdb.v1.DeleteCollectionResponse deleteCollection(io.clipdb.v1.DeleteCollectionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Writes a snapshot (backup) of one collection to the server's data
     * directory, `DATA_DIR/snapshots/COLLECTION/NAME.snapshot`, and describes
     * it. The snapshot is the collection at one instant during the call: every
     * write acknowledged before the call started is in it, and every write is
     * in it whole or not at all. Reads and writes go on meanwhile. Restore it
     * offline with `clipdb snapshot restore FILE --data-dir DIR`. NOT_FOUND if
     * the collection does not exist.
     * </pre>
     */
    public io.clipdb.v1.SnapshotInfo createSnapshot(io.clipdb.v1.CreateSnapshotRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateSnapshotMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the snapshots of one collection (even one since dropped), or of
     * every collection, oldest first. NOT_FOUND for a collection that neither
     * exists nor has snapshots.
     * </pre>
     */
    public io.clipdb.v1.ListSnapshotsResponse listSnapshots(io.clipdb.v1.ListSnapshotsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListSnapshotsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes one snapshot file. NOT_FOUND if there is no such snapshot.
     * </pre>
     */
    public io.clipdb.v1.DeleteSnapshotResponse deleteSnapshot(io.clipdb.v1.DeleteSnapshotRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteSnapshotMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Indexes a payload field so that filters on it are answered from the
     * index instead of reading payloads. Returns at once; the index is built
     * over existing points in the background (state BUILDING, then READY;
     * filters are correct meanwhile, only slower) and kept in step with every
     * write. Recreating an existing index with the same type is a no-op;
     * another type is ALREADY_EXISTS (delete it first).
     * </pre>
     */
    public io.clipdb.v1.PayloadIndexInfo createPayloadIndex(io.clipdb.v1.CreatePayloadIndexRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreatePayloadIndexMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Drops a payload index (NOT_FOUND if there is none on that key).
     * </pre>
     */
    public io.clipdb.v1.DeletePayloadIndexResponse deletePayloadIndex(io.clipdb.v1.DeletePayloadIndexRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeletePayloadIndexMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service Collections.
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public static final class CollectionsBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<CollectionsBlockingStub> {
    private CollectionsBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CollectionsBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CollectionsBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a collection. ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public io.clipdb.v1.CollectionInfo createCollection(io.clipdb.v1.CreateCollectionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Describes one collection. NOT_FOUND if it does not exist.
     * </pre>
     */
    public io.clipdb.v1.CollectionInfo getCollection(io.clipdb.v1.GetCollectionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists every collection, ordered by name.
     * </pre>
     */
    public io.clipdb.v1.ListCollectionsResponse listCollections(io.clipdb.v1.ListCollectionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCollectionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Drops a collection and all its data. NOT_FOUND if it does not exist.
     * Its snapshots are kept (they are backups).
     * </pre>
     */
    public io.clipdb.v1.DeleteCollectionResponse deleteCollection(io.clipdb.v1.DeleteCollectionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteCollectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Writes a snapshot (backup) of one collection to the server's data
     * directory, `DATA_DIR/snapshots/COLLECTION/NAME.snapshot`, and describes
     * it. The snapshot is the collection at one instant during the call: every
     * write acknowledged before the call started is in it, and every write is
     * in it whole or not at all. Reads and writes go on meanwhile. Restore it
     * offline with `clipdb snapshot restore FILE --data-dir DIR`. NOT_FOUND if
     * the collection does not exist.
     * </pre>
     */
    public io.clipdb.v1.SnapshotInfo createSnapshot(io.clipdb.v1.CreateSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateSnapshotMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the snapshots of one collection (even one since dropped), or of
     * every collection, oldest first. NOT_FOUND for a collection that neither
     * exists nor has snapshots.
     * </pre>
     */
    public io.clipdb.v1.ListSnapshotsResponse listSnapshots(io.clipdb.v1.ListSnapshotsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListSnapshotsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes one snapshot file. NOT_FOUND if there is no such snapshot.
     * </pre>
     */
    public io.clipdb.v1.DeleteSnapshotResponse deleteSnapshot(io.clipdb.v1.DeleteSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteSnapshotMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Indexes a payload field so that filters on it are answered from the
     * index instead of reading payloads. Returns at once; the index is built
     * over existing points in the background (state BUILDING, then READY;
     * filters are correct meanwhile, only slower) and kept in step with every
     * write. Recreating an existing index with the same type is a no-op;
     * another type is ALREADY_EXISTS (delete it first).
     * </pre>
     */
    public io.clipdb.v1.PayloadIndexInfo createPayloadIndex(io.clipdb.v1.CreatePayloadIndexRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreatePayloadIndexMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Drops a payload index (NOT_FOUND if there is none on that key).
     * </pre>
     */
    public io.clipdb.v1.DeletePayloadIndexResponse deletePayloadIndex(io.clipdb.v1.DeletePayloadIndexRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeletePayloadIndexMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service Collections.
   * <pre>
   * Creates, inspects and drops collections.
   * </pre>
   */
  public static final class CollectionsFutureStub
      extends io.grpc.stub.AbstractFutureStub<CollectionsFutureStub> {
    private CollectionsFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CollectionsFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CollectionsFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates a collection. ALREADY_EXISTS if the name is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.CollectionInfo> createCollection(
        io.clipdb.v1.CreateCollectionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateCollectionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Describes one collection. NOT_FOUND if it does not exist.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.CollectionInfo> getCollection(
        io.clipdb.v1.GetCollectionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCollectionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists every collection, ordered by name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.ListCollectionsResponse> listCollections(
        io.clipdb.v1.ListCollectionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCollectionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Drops a collection and all its data. NOT_FOUND if it does not exist.
     * Its snapshots are kept (they are backups).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.DeleteCollectionResponse> deleteCollection(
        io.clipdb.v1.DeleteCollectionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteCollectionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Writes a snapshot (backup) of one collection to the server's data
     * directory, `DATA_DIR/snapshots/COLLECTION/NAME.snapshot`, and describes
     * it. The snapshot is the collection at one instant during the call: every
     * write acknowledged before the call started is in it, and every write is
     * in it whole or not at all. Reads and writes go on meanwhile. Restore it
     * offline with `clipdb snapshot restore FILE --data-dir DIR`. NOT_FOUND if
     * the collection does not exist.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SnapshotInfo> createSnapshot(
        io.clipdb.v1.CreateSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateSnapshotMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the snapshots of one collection (even one since dropped), or of
     * every collection, oldest first. NOT_FOUND for a collection that neither
     * exists nor has snapshots.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.ListSnapshotsResponse> listSnapshots(
        io.clipdb.v1.ListSnapshotsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListSnapshotsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes one snapshot file. NOT_FOUND if there is no such snapshot.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.DeleteSnapshotResponse> deleteSnapshot(
        io.clipdb.v1.DeleteSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteSnapshotMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Indexes a payload field so that filters on it are answered from the
     * index instead of reading payloads. Returns at once; the index is built
     * over existing points in the background (state BUILDING, then READY;
     * filters are correct meanwhile, only slower) and kept in step with every
     * write. Recreating an existing index with the same type is a no-op;
     * another type is ALREADY_EXISTS (delete it first).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.PayloadIndexInfo> createPayloadIndex(
        io.clipdb.v1.CreatePayloadIndexRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreatePayloadIndexMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Drops a payload index (NOT_FOUND if there is none on that key).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.DeletePayloadIndexResponse> deletePayloadIndex(
        io.clipdb.v1.DeletePayloadIndexRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeletePayloadIndexMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_COLLECTION = 0;
  private static final int METHODID_GET_COLLECTION = 1;
  private static final int METHODID_LIST_COLLECTIONS = 2;
  private static final int METHODID_DELETE_COLLECTION = 3;
  private static final int METHODID_CREATE_SNAPSHOT = 4;
  private static final int METHODID_LIST_SNAPSHOTS = 5;
  private static final int METHODID_DELETE_SNAPSHOT = 6;
  private static final int METHODID_CREATE_PAYLOAD_INDEX = 7;
  private static final int METHODID_DELETE_PAYLOAD_INDEX = 8;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_COLLECTION:
          serviceImpl.createCollection((io.clipdb.v1.CreateCollectionRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo>) responseObserver);
          break;
        case METHODID_GET_COLLECTION:
          serviceImpl.getCollection((io.clipdb.v1.GetCollectionRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.CollectionInfo>) responseObserver);
          break;
        case METHODID_LIST_COLLECTIONS:
          serviceImpl.listCollections((io.clipdb.v1.ListCollectionsRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.ListCollectionsResponse>) responseObserver);
          break;
        case METHODID_DELETE_COLLECTION:
          serviceImpl.deleteCollection((io.clipdb.v1.DeleteCollectionRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteCollectionResponse>) responseObserver);
          break;
        case METHODID_CREATE_SNAPSHOT:
          serviceImpl.createSnapshot((io.clipdb.v1.CreateSnapshotRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SnapshotInfo>) responseObserver);
          break;
        case METHODID_LIST_SNAPSHOTS:
          serviceImpl.listSnapshots((io.clipdb.v1.ListSnapshotsRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.ListSnapshotsResponse>) responseObserver);
          break;
        case METHODID_DELETE_SNAPSHOT:
          serviceImpl.deleteSnapshot((io.clipdb.v1.DeleteSnapshotRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteSnapshotResponse>) responseObserver);
          break;
        case METHODID_CREATE_PAYLOAD_INDEX:
          serviceImpl.createPayloadIndex((io.clipdb.v1.CreatePayloadIndexRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.PayloadIndexInfo>) responseObserver);
          break;
        case METHODID_DELETE_PAYLOAD_INDEX:
          serviceImpl.deletePayloadIndex((io.clipdb.v1.DeletePayloadIndexRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadIndexResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateCollectionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.CreateCollectionRequest,
              io.clipdb.v1.CollectionInfo>(
                service, METHODID_CREATE_COLLECTION)))
        .addMethod(
          getGetCollectionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.GetCollectionRequest,
              io.clipdb.v1.CollectionInfo>(
                service, METHODID_GET_COLLECTION)))
        .addMethod(
          getListCollectionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ListCollectionsRequest,
              io.clipdb.v1.ListCollectionsResponse>(
                service, METHODID_LIST_COLLECTIONS)))
        .addMethod(
          getDeleteCollectionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.DeleteCollectionRequest,
              io.clipdb.v1.DeleteCollectionResponse>(
                service, METHODID_DELETE_COLLECTION)))
        .addMethod(
          getCreateSnapshotMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.CreateSnapshotRequest,
              io.clipdb.v1.SnapshotInfo>(
                service, METHODID_CREATE_SNAPSHOT)))
        .addMethod(
          getListSnapshotsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ListSnapshotsRequest,
              io.clipdb.v1.ListSnapshotsResponse>(
                service, METHODID_LIST_SNAPSHOTS)))
        .addMethod(
          getDeleteSnapshotMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.DeleteSnapshotRequest,
              io.clipdb.v1.DeleteSnapshotResponse>(
                service, METHODID_DELETE_SNAPSHOT)))
        .addMethod(
          getCreatePayloadIndexMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.CreatePayloadIndexRequest,
              io.clipdb.v1.PayloadIndexInfo>(
                service, METHODID_CREATE_PAYLOAD_INDEX)))
        .addMethod(
          getDeletePayloadIndexMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.DeletePayloadIndexRequest,
              io.clipdb.v1.DeletePayloadIndexResponse>(
                service, METHODID_DELETE_PAYLOAD_INDEX)))
        .build();
  }

  private static abstract class CollectionsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CollectionsBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.clipdb.v1.Clipdb.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("Collections");
    }
  }

  private static final class CollectionsFileDescriptorSupplier
      extends CollectionsBaseDescriptorSupplier {
    CollectionsFileDescriptorSupplier() {}
  }

  private static final class CollectionsMethodDescriptorSupplier
      extends CollectionsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    CollectionsMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (CollectionsGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CollectionsFileDescriptorSupplier())
              .addMethod(getCreateCollectionMethod())
              .addMethod(getGetCollectionMethod())
              .addMethod(getListCollectionsMethod())
              .addMethod(getDeleteCollectionMethod())
              .addMethod(getCreateSnapshotMethod())
              .addMethod(getListSnapshotsMethod())
              .addMethod(getDeleteSnapshotMethod())
              .addMethod(getCreatePayloadIndexMethod())
              .addMethod(getDeletePayloadIndexMethod())
              .build();
        }
      }
    }
    return result;
  }
}
