package io.clipdb.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * The cluster: its nodes and every collection's shards and replicas. Served
 * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
 * Shard* and WaitApplied methods are what nodes call on each other (a
 * client may, but need not).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ClusterGrpc {

  private ClusterGrpc() {}

  public static final java.lang.String SERVICE_NAME = "clipdb.v1.Cluster";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.GetClusterRequest,
      io.clipdb.v1.GetClusterResponse> getGetClusterMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCluster",
      requestType = io.clipdb.v1.GetClusterRequest.class,
      responseType = io.clipdb.v1.GetClusterResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.GetClusterRequest,
      io.clipdb.v1.GetClusterResponse> getGetClusterMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.GetClusterRequest, io.clipdb.v1.GetClusterResponse> getGetClusterMethod;
    if ((getGetClusterMethod = ClusterGrpc.getGetClusterMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getGetClusterMethod = ClusterGrpc.getGetClusterMethod) == null) {
          ClusterGrpc.getGetClusterMethod = getGetClusterMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.GetClusterRequest, io.clipdb.v1.GetClusterResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCluster"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetClusterRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetClusterResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("GetCluster"))
              .build();
        }
      }
    }
    return getGetClusterMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ShardSearchRequest,
      io.clipdb.v1.SearchResponse> getShardSearchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ShardSearch",
      requestType = io.clipdb.v1.ShardSearchRequest.class,
      responseType = io.clipdb.v1.SearchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ShardSearchRequest,
      io.clipdb.v1.SearchResponse> getShardSearchMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ShardSearchRequest, io.clipdb.v1.SearchResponse> getShardSearchMethod;
    if ((getShardSearchMethod = ClusterGrpc.getShardSearchMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getShardSearchMethod = ClusterGrpc.getShardSearchMethod) == null) {
          ClusterGrpc.getShardSearchMethod = getShardSearchMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ShardSearchRequest, io.clipdb.v1.SearchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ShardSearch"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardSearchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("ShardSearch"))
              .build();
        }
      }
    }
    return getShardSearchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ShardGetRequest,
      io.clipdb.v1.GetResponse> getShardGetMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ShardGet",
      requestType = io.clipdb.v1.ShardGetRequest.class,
      responseType = io.clipdb.v1.GetResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ShardGetRequest,
      io.clipdb.v1.GetResponse> getShardGetMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ShardGetRequest, io.clipdb.v1.GetResponse> getShardGetMethod;
    if ((getShardGetMethod = ClusterGrpc.getShardGetMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getShardGetMethod = ClusterGrpc.getShardGetMethod) == null) {
          ClusterGrpc.getShardGetMethod = getShardGetMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ShardGetRequest, io.clipdb.v1.GetResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ShardGet"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardGetRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("ShardGet"))
              .build();
        }
      }
    }
    return getShardGetMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ShardCountRequest,
      io.clipdb.v1.CountResponse> getShardCountMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ShardCount",
      requestType = io.clipdb.v1.ShardCountRequest.class,
      responseType = io.clipdb.v1.CountResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ShardCountRequest,
      io.clipdb.v1.CountResponse> getShardCountMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ShardCountRequest, io.clipdb.v1.CountResponse> getShardCountMethod;
    if ((getShardCountMethod = ClusterGrpc.getShardCountMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getShardCountMethod = ClusterGrpc.getShardCountMethod) == null) {
          ClusterGrpc.getShardCountMethod = getShardCountMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ShardCountRequest, io.clipdb.v1.CountResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ShardCount"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardCountRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CountResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("ShardCount"))
              .build();
        }
      }
    }
    return getShardCountMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ShardScrollRequest,
      io.clipdb.v1.ShardScrollResponse> getShardScrollMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ShardScroll",
      requestType = io.clipdb.v1.ShardScrollRequest.class,
      responseType = io.clipdb.v1.ShardScrollResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ShardScrollRequest,
      io.clipdb.v1.ShardScrollResponse> getShardScrollMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ShardScrollRequest, io.clipdb.v1.ShardScrollResponse> getShardScrollMethod;
    if ((getShardScrollMethod = ClusterGrpc.getShardScrollMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getShardScrollMethod = ClusterGrpc.getShardScrollMethod) == null) {
          ClusterGrpc.getShardScrollMethod = getShardScrollMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ShardScrollRequest, io.clipdb.v1.ShardScrollResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ShardScroll"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardScrollRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardScrollResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("ShardScroll"))
              .build();
        }
      }
    }
    return getShardScrollMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.WaitAppliedRequest,
      io.clipdb.v1.WaitAppliedResponse> getWaitAppliedMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WaitApplied",
      requestType = io.clipdb.v1.WaitAppliedRequest.class,
      responseType = io.clipdb.v1.WaitAppliedResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.WaitAppliedRequest,
      io.clipdb.v1.WaitAppliedResponse> getWaitAppliedMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.WaitAppliedRequest, io.clipdb.v1.WaitAppliedResponse> getWaitAppliedMethod;
    if ((getWaitAppliedMethod = ClusterGrpc.getWaitAppliedMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getWaitAppliedMethod = ClusterGrpc.getWaitAppliedMethod) == null) {
          ClusterGrpc.getWaitAppliedMethod = getWaitAppliedMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.WaitAppliedRequest, io.clipdb.v1.WaitAppliedResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WaitApplied"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.WaitAppliedRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.WaitAppliedResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("WaitApplied"))
              .build();
        }
      }
    }
    return getWaitAppliedMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.MoveReplicaRequest,
      io.clipdb.v1.MoveReplicaResponse> getMoveReplicaMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "MoveReplica",
      requestType = io.clipdb.v1.MoveReplicaRequest.class,
      responseType = io.clipdb.v1.MoveReplicaResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.MoveReplicaRequest,
      io.clipdb.v1.MoveReplicaResponse> getMoveReplicaMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.MoveReplicaRequest, io.clipdb.v1.MoveReplicaResponse> getMoveReplicaMethod;
    if ((getMoveReplicaMethod = ClusterGrpc.getMoveReplicaMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getMoveReplicaMethod = ClusterGrpc.getMoveReplicaMethod) == null) {
          ClusterGrpc.getMoveReplicaMethod = getMoveReplicaMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.MoveReplicaRequest, io.clipdb.v1.MoveReplicaResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "MoveReplica"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.MoveReplicaRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.MoveReplicaResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("MoveReplica"))
              .build();
        }
      }
    }
    return getMoveReplicaMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ShardSnapshotRequest,
      io.clipdb.v1.ShardSnapshotResponse> getShardSnapshotMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ShardSnapshot",
      requestType = io.clipdb.v1.ShardSnapshotRequest.class,
      responseType = io.clipdb.v1.ShardSnapshotResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ShardSnapshotRequest,
      io.clipdb.v1.ShardSnapshotResponse> getShardSnapshotMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ShardSnapshotRequest, io.clipdb.v1.ShardSnapshotResponse> getShardSnapshotMethod;
    if ((getShardSnapshotMethod = ClusterGrpc.getShardSnapshotMethod) == null) {
      synchronized (ClusterGrpc.class) {
        if ((getShardSnapshotMethod = ClusterGrpc.getShardSnapshotMethod) == null) {
          ClusterGrpc.getShardSnapshotMethod = getShardSnapshotMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ShardSnapshotRequest, io.clipdb.v1.ShardSnapshotResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ShardSnapshot"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardSnapshotRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ShardSnapshotResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ClusterMethodDescriptorSupplier("ShardSnapshot"))
              .build();
        }
      }
    }
    return getShardSnapshotMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ClusterStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ClusterStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ClusterStub>() {
        @java.lang.Override
        public ClusterStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ClusterStub(channel, callOptions);
        }
      };
    return ClusterStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ClusterBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ClusterBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ClusterBlockingV2Stub>() {
        @java.lang.Override
        public ClusterBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ClusterBlockingV2Stub(channel, callOptions);
        }
      };
    return ClusterBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ClusterBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ClusterBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ClusterBlockingStub>() {
        @java.lang.Override
        public ClusterBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ClusterBlockingStub(channel, callOptions);
        }
      };
    return ClusterBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ClusterFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ClusterFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ClusterFutureStub>() {
        @java.lang.Override
        public ClusterFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ClusterFutureStub(channel, callOptions);
        }
      };
    return ClusterFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Nodes, their liveness, and every collection's shards and replica lag.
     * </pre>
     */
    default void getCluster(io.clipdb.v1.GetClusterRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetClusterResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetClusterMethod(), responseObserver);
    }

    /**
     * <pre>
     * Searches this node's replica of one shard with a prepared query vector.
     * </pre>
     */
    default void shardSearch(io.clipdb.v1.ShardSearchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShardSearchMethod(), responseObserver);
    }

    /**
     * <pre>
     * Gets points from this node's replica of one shard.
     * </pre>
     */
    default void shardGet(io.clipdb.v1.ShardGetRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShardGetMethod(), responseObserver);
    }

    /**
     * <pre>
     * Counts points in this node's replica of one shard.
     * </pre>
     */
    default void shardCount(io.clipdb.v1.ShardCountRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShardCountMethod(), responseObserver);
    }

    /**
     * <pre>
     * One scroll page of this node's replica of one shard.
     * </pre>
     */
    default void shardScroll(io.clipdb.v1.ShardScrollRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ShardScrollResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShardScrollMethod(), responseObserver);
    }

    /**
     * <pre>
     * Waits until this node's replica of a shard has applied its log up to
     * `sequence` (or the timeout passes: DEADLINE_EXCEEDED).
     * </pre>
     */
    default void waitApplied(io.clipdb.v1.WaitAppliedRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.WaitAppliedResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWaitAppliedMethod(), responseObserver);
    }

    /**
     * <pre>
     * Moves one replica of a shard to another node while the cluster serves:
     * the new node's replica is added and replays the shard's log; once it
     * has caught up, the old one is removed (its node deletes its copy).
     * </pre>
     */
    default void moveReplica(io.clipdb.v1.MoveReplicaRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.MoveReplicaResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getMoveReplicaMethod(), responseObserver);
    }

    /**
     * <pre>
     * Takes a snapshot of this node's replica of one shard and uploads it to
     * the object store as `object` (CreateSnapshot of a cluster collection).
     * </pre>
     */
    default void shardSnapshot(io.clipdb.v1.ShardSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ShardSnapshotResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShardSnapshotMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service Cluster.
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public static abstract class ClusterImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ClusterGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service Cluster.
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public static final class ClusterStub
      extends io.grpc.stub.AbstractAsyncStub<ClusterStub> {
    private ClusterStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ClusterStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ClusterStub(channel, callOptions);
    }

    /**
     * <pre>
     * Nodes, their liveness, and every collection's shards and replica lag.
     * </pre>
     */
    public void getCluster(io.clipdb.v1.GetClusterRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetClusterResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetClusterMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Searches this node's replica of one shard with a prepared query vector.
     * </pre>
     */
    public void shardSearch(io.clipdb.v1.ShardSearchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShardSearchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Gets points from this node's replica of one shard.
     * </pre>
     */
    public void shardGet(io.clipdb.v1.ShardGetRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShardGetMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Counts points in this node's replica of one shard.
     * </pre>
     */
    public void shardCount(io.clipdb.v1.ShardCountRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShardCountMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * One scroll page of this node's replica of one shard.
     * </pre>
     */
    public void shardScroll(io.clipdb.v1.ShardScrollRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ShardScrollResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShardScrollMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Waits until this node's replica of a shard has applied its log up to
     * `sequence` (or the timeout passes: DEADLINE_EXCEEDED).
     * </pre>
     */
    public void waitApplied(io.clipdb.v1.WaitAppliedRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.WaitAppliedResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWaitAppliedMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Moves one replica of a shard to another node while the cluster serves:
     * the new node's replica is added and replays the shard's log; once it
     * has caught up, the old one is removed (its node deletes its copy).
     * </pre>
     */
    public void moveReplica(io.clipdb.v1.MoveReplicaRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.MoveReplicaResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getMoveReplicaMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Takes a snapshot of this node's replica of one shard and uploads it to
     * the object store as `object` (CreateSnapshot of a cluster collection).
     * </pre>
     */
    public void shardSnapshot(io.clipdb.v1.ShardSnapshotRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ShardSnapshotResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShardSnapshotMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service Cluster.
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public static final class ClusterBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ClusterBlockingV2Stub> {
    private ClusterBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ClusterBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ClusterBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Nodes, their liveness, and every collection's shards and replica lag.
     * </pre>
     */
    public io.clipdb.v1.GetClusterResponse getCluster(io.clipdb.v1.GetClusterRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetClusterMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Searches this node's replica of one shard with a prepared query vector.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse shardSearch(io.clipdb.v1.ShardSearchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShardSearchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets points from this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.GetResponse shardGet(io.clipdb.v1.ShardGetRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShardGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts points in this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.CountResponse shardCount(io.clipdb.v1.ShardCountRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShardCountMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * One scroll page of this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.ShardScrollResponse shardScroll(io.clipdb.v1.ShardScrollRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShardScrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Waits until this node's replica of a shard has applied its log up to
     * `sequence` (or the timeout passes: DEADLINE_EXCEEDED).
     * </pre>
     */
    public io.clipdb.v1.WaitAppliedResponse waitApplied(io.clipdb.v1.WaitAppliedRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getWaitAppliedMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Moves one replica of a shard to another node while the cluster serves:
     * the new node's replica is added and replays the shard's log; once it
     * has caught up, the old one is removed (its node deletes its copy).
     * </pre>
     */
    public io.clipdb.v1.MoveReplicaResponse moveReplica(io.clipdb.v1.MoveReplicaRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getMoveReplicaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Takes a snapshot of this node's replica of one shard and uploads it to
     * the object store as `object` (CreateSnapshot of a cluster collection).
     * </pre>
     */
    public io.clipdb.v1.ShardSnapshotResponse shardSnapshot(io.clipdb.v1.ShardSnapshotRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShardSnapshotMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service Cluster.
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public static final class ClusterBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ClusterBlockingStub> {
    private ClusterBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ClusterBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ClusterBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Nodes, their liveness, and every collection's shards and replica lag.
     * </pre>
     */
    public io.clipdb.v1.GetClusterResponse getCluster(io.clipdb.v1.GetClusterRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetClusterMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Searches this node's replica of one shard with a prepared query vector.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse shardSearch(io.clipdb.v1.ShardSearchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShardSearchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Gets points from this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.GetResponse shardGet(io.clipdb.v1.ShardGetRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShardGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts points in this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.CountResponse shardCount(io.clipdb.v1.ShardCountRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShardCountMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * One scroll page of this node's replica of one shard.
     * </pre>
     */
    public io.clipdb.v1.ShardScrollResponse shardScroll(io.clipdb.v1.ShardScrollRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShardScrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Waits until this node's replica of a shard has applied its log up to
     * `sequence` (or the timeout passes: DEADLINE_EXCEEDED).
     * </pre>
     */
    public io.clipdb.v1.WaitAppliedResponse waitApplied(io.clipdb.v1.WaitAppliedRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWaitAppliedMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Moves one replica of a shard to another node while the cluster serves:
     * the new node's replica is added and replays the shard's log; once it
     * has caught up, the old one is removed (its node deletes its copy).
     * </pre>
     */
    public io.clipdb.v1.MoveReplicaResponse moveReplica(io.clipdb.v1.MoveReplicaRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getMoveReplicaMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Takes a snapshot of this node's replica of one shard and uploads it to
     * the object store as `object` (CreateSnapshot of a cluster collection).
     * </pre>
     */
    public io.clipdb.v1.ShardSnapshotResponse shardSnapshot(io.clipdb.v1.ShardSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShardSnapshotMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service Cluster.
   * <pre>
   * The cluster: its nodes and every collection's shards and replicas. Served
   * by nodes started with --nats; a single server answers UNIMPLEMENTED. The
   * Shard* and WaitApplied methods are what nodes call on each other (a
   * client may, but need not).
   * </pre>
   */
  public static final class ClusterFutureStub
      extends io.grpc.stub.AbstractFutureStub<ClusterFutureStub> {
    private ClusterFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ClusterFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ClusterFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Nodes, their liveness, and every collection's shards and replica lag.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.GetClusterResponse> getCluster(
        io.clipdb.v1.GetClusterRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetClusterMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Searches this node's replica of one shard with a prepared query vector.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SearchResponse> shardSearch(
        io.clipdb.v1.ShardSearchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShardSearchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Gets points from this node's replica of one shard.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.GetResponse> shardGet(
        io.clipdb.v1.ShardGetRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShardGetMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Counts points in this node's replica of one shard.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.CountResponse> shardCount(
        io.clipdb.v1.ShardCountRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShardCountMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * One scroll page of this node's replica of one shard.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.ShardScrollResponse> shardScroll(
        io.clipdb.v1.ShardScrollRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShardScrollMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Waits until this node's replica of a shard has applied its log up to
     * `sequence` (or the timeout passes: DEADLINE_EXCEEDED).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.WaitAppliedResponse> waitApplied(
        io.clipdb.v1.WaitAppliedRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWaitAppliedMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Moves one replica of a shard to another node while the cluster serves:
     * the new node's replica is added and replays the shard's log; once it
     * has caught up, the old one is removed (its node deletes its copy).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.MoveReplicaResponse> moveReplica(
        io.clipdb.v1.MoveReplicaRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getMoveReplicaMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Takes a snapshot of this node's replica of one shard and uploads it to
     * the object store as `object` (CreateSnapshot of a cluster collection).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.ShardSnapshotResponse> shardSnapshot(
        io.clipdb.v1.ShardSnapshotRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShardSnapshotMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_CLUSTER = 0;
  private static final int METHODID_SHARD_SEARCH = 1;
  private static final int METHODID_SHARD_GET = 2;
  private static final int METHODID_SHARD_COUNT = 3;
  private static final int METHODID_SHARD_SCROLL = 4;
  private static final int METHODID_WAIT_APPLIED = 5;
  private static final int METHODID_MOVE_REPLICA = 6;
  private static final int METHODID_SHARD_SNAPSHOT = 7;

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
        case METHODID_GET_CLUSTER:
          serviceImpl.getCluster((io.clipdb.v1.GetClusterRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.GetClusterResponse>) responseObserver);
          break;
        case METHODID_SHARD_SEARCH:
          serviceImpl.shardSearch((io.clipdb.v1.ShardSearchRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse>) responseObserver);
          break;
        case METHODID_SHARD_GET:
          serviceImpl.shardGet((io.clipdb.v1.ShardGetRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse>) responseObserver);
          break;
        case METHODID_SHARD_COUNT:
          serviceImpl.shardCount((io.clipdb.v1.ShardCountRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse>) responseObserver);
          break;
        case METHODID_SHARD_SCROLL:
          serviceImpl.shardScroll((io.clipdb.v1.ShardScrollRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.ShardScrollResponse>) responseObserver);
          break;
        case METHODID_WAIT_APPLIED:
          serviceImpl.waitApplied((io.clipdb.v1.WaitAppliedRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.WaitAppliedResponse>) responseObserver);
          break;
        case METHODID_MOVE_REPLICA:
          serviceImpl.moveReplica((io.clipdb.v1.MoveReplicaRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.MoveReplicaResponse>) responseObserver);
          break;
        case METHODID_SHARD_SNAPSHOT:
          serviceImpl.shardSnapshot((io.clipdb.v1.ShardSnapshotRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.ShardSnapshotResponse>) responseObserver);
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
          getGetClusterMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.GetClusterRequest,
              io.clipdb.v1.GetClusterResponse>(
                service, METHODID_GET_CLUSTER)))
        .addMethod(
          getShardSearchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ShardSearchRequest,
              io.clipdb.v1.SearchResponse>(
                service, METHODID_SHARD_SEARCH)))
        .addMethod(
          getShardGetMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ShardGetRequest,
              io.clipdb.v1.GetResponse>(
                service, METHODID_SHARD_GET)))
        .addMethod(
          getShardCountMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ShardCountRequest,
              io.clipdb.v1.CountResponse>(
                service, METHODID_SHARD_COUNT)))
        .addMethod(
          getShardScrollMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ShardScrollRequest,
              io.clipdb.v1.ShardScrollResponse>(
                service, METHODID_SHARD_SCROLL)))
        .addMethod(
          getWaitAppliedMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.WaitAppliedRequest,
              io.clipdb.v1.WaitAppliedResponse>(
                service, METHODID_WAIT_APPLIED)))
        .addMethod(
          getMoveReplicaMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.MoveReplicaRequest,
              io.clipdb.v1.MoveReplicaResponse>(
                service, METHODID_MOVE_REPLICA)))
        .addMethod(
          getShardSnapshotMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ShardSnapshotRequest,
              io.clipdb.v1.ShardSnapshotResponse>(
                service, METHODID_SHARD_SNAPSHOT)))
        .build();
  }

  private static abstract class ClusterBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ClusterBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.clipdb.v1.Clipdb.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("Cluster");
    }
  }

  private static final class ClusterFileDescriptorSupplier
      extends ClusterBaseDescriptorSupplier {
    ClusterFileDescriptorSupplier() {}
  }

  private static final class ClusterMethodDescriptorSupplier
      extends ClusterBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ClusterMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ClusterGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ClusterFileDescriptorSupplier())
              .addMethod(getGetClusterMethod())
              .addMethod(getShardSearchMethod())
              .addMethod(getShardGetMethod())
              .addMethod(getShardCountMethod())
              .addMethod(getShardScrollMethod())
              .addMethod(getWaitAppliedMethod())
              .addMethod(getMoveReplicaMethod())
              .addMethod(getShardSnapshotMethod())
              .build();
        }
      }
    }
    return result;
  }
}
