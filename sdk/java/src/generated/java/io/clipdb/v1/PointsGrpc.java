package io.clipdb.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Writes, reads and searches points.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PointsGrpc {

  private PointsGrpc() {}

  public static final java.lang.String SERVICE_NAME = "clipdb.v1.Points";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest,
      io.clipdb.v1.UpsertResponse> getUpsertMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Upsert",
      requestType = io.clipdb.v1.UpsertRequest.class,
      responseType = io.clipdb.v1.UpsertResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest,
      io.clipdb.v1.UpsertResponse> getUpsertMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest, io.clipdb.v1.UpsertResponse> getUpsertMethod;
    if ((getUpsertMethod = PointsGrpc.getUpsertMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getUpsertMethod = PointsGrpc.getUpsertMethod) == null) {
          PointsGrpc.getUpsertMethod = getUpsertMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.UpsertRequest, io.clipdb.v1.UpsertResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Upsert"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.UpsertRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.UpsertResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Upsert"))
              .build();
        }
      }
    }
    return getUpsertMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest,
      io.clipdb.v1.UpsertResponse> getUpsertStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpsertStream",
      requestType = io.clipdb.v1.UpsertRequest.class,
      responseType = io.clipdb.v1.UpsertResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest,
      io.clipdb.v1.UpsertResponse> getUpsertStreamMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.UpsertRequest, io.clipdb.v1.UpsertResponse> getUpsertStreamMethod;
    if ((getUpsertStreamMethod = PointsGrpc.getUpsertStreamMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getUpsertStreamMethod = PointsGrpc.getUpsertStreamMethod) == null) {
          PointsGrpc.getUpsertStreamMethod = getUpsertStreamMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.UpsertRequest, io.clipdb.v1.UpsertResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpsertStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.UpsertRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.UpsertResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("UpsertStream"))
              .build();
        }
      }
    }
    return getUpsertStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.GetRequest,
      io.clipdb.v1.GetResponse> getGetMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Get",
      requestType = io.clipdb.v1.GetRequest.class,
      responseType = io.clipdb.v1.GetResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.GetRequest,
      io.clipdb.v1.GetResponse> getGetMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.GetRequest, io.clipdb.v1.GetResponse> getGetMethod;
    if ((getGetMethod = PointsGrpc.getGetMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getGetMethod = PointsGrpc.getGetMethod) == null) {
          PointsGrpc.getGetMethod = getGetMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.GetRequest, io.clipdb.v1.GetResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Get"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.GetResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Get"))
              .build();
        }
      }
    }
    return getGetMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.DeleteRequest,
      io.clipdb.v1.DeleteResponse> getDeleteMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Delete",
      requestType = io.clipdb.v1.DeleteRequest.class,
      responseType = io.clipdb.v1.DeleteResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.DeleteRequest,
      io.clipdb.v1.DeleteResponse> getDeleteMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.DeleteRequest, io.clipdb.v1.DeleteResponse> getDeleteMethod;
    if ((getDeleteMethod = PointsGrpc.getDeleteMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getDeleteMethod = PointsGrpc.getDeleteMethod) == null) {
          PointsGrpc.getDeleteMethod = getDeleteMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.DeleteRequest, io.clipdb.v1.DeleteResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Delete"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeleteResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Delete"))
              .build();
        }
      }
    }
    return getDeleteMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.SearchRequest,
      io.clipdb.v1.SearchResponse> getSearchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Search",
      requestType = io.clipdb.v1.SearchRequest.class,
      responseType = io.clipdb.v1.SearchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.SearchRequest,
      io.clipdb.v1.SearchResponse> getSearchMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.SearchRequest, io.clipdb.v1.SearchResponse> getSearchMethod;
    if ((getSearchMethod = PointsGrpc.getSearchMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getSearchMethod = PointsGrpc.getSearchMethod) == null) {
          PointsGrpc.getSearchMethod = getSearchMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.SearchRequest, io.clipdb.v1.SearchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Search"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Search"))
              .build();
        }
      }
    }
    return getSearchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.SearchBatchRequest,
      io.clipdb.v1.SearchBatchResponse> getSearchBatchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SearchBatch",
      requestType = io.clipdb.v1.SearchBatchRequest.class,
      responseType = io.clipdb.v1.SearchBatchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.SearchBatchRequest,
      io.clipdb.v1.SearchBatchResponse> getSearchBatchMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.SearchBatchRequest, io.clipdb.v1.SearchBatchResponse> getSearchBatchMethod;
    if ((getSearchBatchMethod = PointsGrpc.getSearchBatchMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getSearchBatchMethod = PointsGrpc.getSearchBatchMethod) == null) {
          PointsGrpc.getSearchBatchMethod = getSearchBatchMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.SearchBatchRequest, io.clipdb.v1.SearchBatchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SearchBatch"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchBatchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchBatchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("SearchBatch"))
              .build();
        }
      }
    }
    return getSearchBatchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.CountRequest,
      io.clipdb.v1.CountResponse> getCountMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Count",
      requestType = io.clipdb.v1.CountRequest.class,
      responseType = io.clipdb.v1.CountResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.CountRequest,
      io.clipdb.v1.CountResponse> getCountMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.CountRequest, io.clipdb.v1.CountResponse> getCountMethod;
    if ((getCountMethod = PointsGrpc.getCountMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getCountMethod = PointsGrpc.getCountMethod) == null) {
          PointsGrpc.getCountMethod = getCountMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.CountRequest, io.clipdb.v1.CountResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Count"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CountRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.CountResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Count"))
              .build();
        }
      }
    }
    return getCountMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.ScrollRequest,
      io.clipdb.v1.ScrollResponse> getScrollMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Scroll",
      requestType = io.clipdb.v1.ScrollRequest.class,
      responseType = io.clipdb.v1.ScrollResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.ScrollRequest,
      io.clipdb.v1.ScrollResponse> getScrollMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.ScrollRequest, io.clipdb.v1.ScrollResponse> getScrollMethod;
    if ((getScrollMethod = PointsGrpc.getScrollMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getScrollMethod = PointsGrpc.getScrollMethod) == null) {
          PointsGrpc.getScrollMethod = getScrollMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.ScrollRequest, io.clipdb.v1.ScrollResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Scroll"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ScrollRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.ScrollResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Scroll"))
              .build();
        }
      }
    }
    return getScrollMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.SetPayloadRequest,
      io.clipdb.v1.SetPayloadResponse> getSetPayloadMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SetPayload",
      requestType = io.clipdb.v1.SetPayloadRequest.class,
      responseType = io.clipdb.v1.SetPayloadResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.SetPayloadRequest,
      io.clipdb.v1.SetPayloadResponse> getSetPayloadMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.SetPayloadRequest, io.clipdb.v1.SetPayloadResponse> getSetPayloadMethod;
    if ((getSetPayloadMethod = PointsGrpc.getSetPayloadMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getSetPayloadMethod = PointsGrpc.getSetPayloadMethod) == null) {
          PointsGrpc.getSetPayloadMethod = getSetPayloadMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.SetPayloadRequest, io.clipdb.v1.SetPayloadResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SetPayload"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SetPayloadRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SetPayloadResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("SetPayload"))
              .build();
        }
      }
    }
    return getSetPayloadMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadKeysRequest,
      io.clipdb.v1.DeletePayloadKeysResponse> getDeletePayloadKeysMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeletePayloadKeys",
      requestType = io.clipdb.v1.DeletePayloadKeysRequest.class,
      responseType = io.clipdb.v1.DeletePayloadKeysResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadKeysRequest,
      io.clipdb.v1.DeletePayloadKeysResponse> getDeletePayloadKeysMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.DeletePayloadKeysRequest, io.clipdb.v1.DeletePayloadKeysResponse> getDeletePayloadKeysMethod;
    if ((getDeletePayloadKeysMethod = PointsGrpc.getDeletePayloadKeysMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getDeletePayloadKeysMethod = PointsGrpc.getDeletePayloadKeysMethod) == null) {
          PointsGrpc.getDeletePayloadKeysMethod = getDeletePayloadKeysMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.DeletePayloadKeysRequest, io.clipdb.v1.DeletePayloadKeysResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeletePayloadKeys"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeletePayloadKeysRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.DeletePayloadKeysResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("DeletePayloadKeys"))
              .build();
        }
      }
    }
    return getDeletePayloadKeysMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.RecommendRequest,
      io.clipdb.v1.SearchResponse> getRecommendMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Recommend",
      requestType = io.clipdb.v1.RecommendRequest.class,
      responseType = io.clipdb.v1.SearchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.RecommendRequest,
      io.clipdb.v1.SearchResponse> getRecommendMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.RecommendRequest, io.clipdb.v1.SearchResponse> getRecommendMethod;
    if ((getRecommendMethod = PointsGrpc.getRecommendMethod) == null) {
      synchronized (PointsGrpc.class) {
        if ((getRecommendMethod = PointsGrpc.getRecommendMethod) == null) {
          PointsGrpc.getRecommendMethod = getRecommendMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.RecommendRequest, io.clipdb.v1.SearchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Recommend"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.RecommendRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.SearchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PointsMethodDescriptorSupplier("Recommend"))
              .build();
        }
      }
    }
    return getRecommendMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PointsStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PointsStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PointsStub>() {
        @java.lang.Override
        public PointsStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PointsStub(channel, callOptions);
        }
      };
    return PointsStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PointsBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PointsBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PointsBlockingV2Stub>() {
        @java.lang.Override
        public PointsBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PointsBlockingV2Stub(channel, callOptions);
        }
      };
    return PointsBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PointsBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PointsBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PointsBlockingStub>() {
        @java.lang.Override
        public PointsBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PointsBlockingStub(channel, callOptions);
        }
      };
    return PointsBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PointsFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PointsFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PointsFutureStub>() {
        @java.lang.Override
        public PointsFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PointsFutureStub(channel, callOptions);
        }
      };
    return PointsFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Inserts or replaces points (by id). All or nothing: one invalid point
     * fails the request and nothing is stored. Acknowledged once durable.
     * </pre>
     */
    default void upsert(io.clipdb.v1.UpsertRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpsertMethod(), responseObserver);
    }

    /**
     * <pre>
     * Bulk load: a stream of upsert batches. Each message is applied and made
     * durable as a unit, in order; the response counts all upserted points. On
     * an error the stream stops; batches before the failing one stay stored.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertRequest> upsertStream(
        io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getUpsertStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Fetches points by id. Missing ids are simply absent from the response.
     * </pre>
     */
    default void get(io.clipdb.v1.GetRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes points by id. Missing ids are ignored. Acknowledged once durable.
     * </pre>
     */
    default void delete(io.clipdb.v1.DeleteRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteMethod(), responseObserver);
    }

    /**
     * <pre>
     * Nearest-neighbour search, best first.
     * </pre>
     */
    default void search(io.clipdb.v1.SearchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSearchMethod(), responseObserver);
    }

    /**
     * <pre>
     * Many searches in one request (up to 1 024; each may name its own
     * collection), run concurrently; results in request order. If any search
     * fails the whole call fails with that search's status, its message
     * starting with `searches[i]`.
     * </pre>
     */
    default void searchBatch(io.clipdb.v1.SearchBatchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchBatchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSearchBatchMethod(), responseObserver);
    }

    /**
     * <pre>
     * Counts the live points of a collection, or (with a filter) exactly
     * those that match.
     * </pre>
     */
    default void count(io.clipdb.v1.CountRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCountMethod(), responseObserver);
    }

    /**
     * <pre>
     * Pages through a collection (or the points matching a filter) in id
     * order. Every point that exists throughout the scroll is returned exactly
     * once; a point written or deleted meanwhile may or may not appear, and
     * none appears twice. Pass `next_page_token` back for the next page; an
     * empty one ends the scroll. Tokens stay valid across restarts, not
     * across dropping and re-creating the collection.
     * </pre>
     */
    default void scroll(io.clipdb.v1.ScrollRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ScrollResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getScrollMethod(), responseObserver);
    }

    /**
     * <pre>
     * Merges `payload` into (or, with `replace`, substitutes it for) the
     * payload of the given points or of every point matching a filter,
     * without touching vectors. Atomic and durable like an upsert; missing
     * ids are ignored.
     * </pre>
     */
    default void setPayload(io.clipdb.v1.SetPayloadRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SetPayloadResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSetPayloadMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes payload keys (top-level or dotted) from the given points or
     * every point matching a filter. Atomic and durable like an upsert.
     * </pre>
     */
    default void deletePayloadKeys(io.clipdb.v1.DeletePayloadKeysRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadKeysResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeletePayloadKeysMethod(), responseObserver);
    }

    /**
     * <pre>
     * "More like these, less like those": searches with the mean of the
     * positive examples pushed away from the mean of the negative ones
     * (2 * mean(positive) - mean(negative), the average-vector strategy; with
     * no negatives, the mean of the positives). Examples given by id are left
     * out of the hits.
     * </pre>
     */
    default void recommend(io.clipdb.v1.RecommendRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecommendMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service Points.
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public static abstract class PointsImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PointsGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service Points.
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public static final class PointsStub
      extends io.grpc.stub.AbstractAsyncStub<PointsStub> {
    private PointsStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PointsStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PointsStub(channel, callOptions);
    }

    /**
     * <pre>
     * Inserts or replaces points (by id). All or nothing: one invalid point
     * fails the request and nothing is stored. Acknowledged once durable.
     * </pre>
     */
    public void upsert(io.clipdb.v1.UpsertRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpsertMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Bulk load: a stream of upsert batches. Each message is applied and made
     * durable as a unit, in order; the response counts all upserted points. On
     * an error the stream stops; batches before the failing one stay stored.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertRequest> upsertStream(
        io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncClientStreamingCall(
          getChannel().newCall(getUpsertStreamMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Fetches points by id. Missing ids are simply absent from the response.
     * </pre>
     */
    public void get(io.clipdb.v1.GetRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes points by id. Missing ids are ignored. Acknowledged once durable.
     * </pre>
     */
    public void delete(io.clipdb.v1.DeleteRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Nearest-neighbour search, best first.
     * </pre>
     */
    public void search(io.clipdb.v1.SearchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSearchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Many searches in one request (up to 1 024; each may name its own
     * collection), run concurrently; results in request order. If any search
     * fails the whole call fails with that search's status, its message
     * starting with `searches[i]`.
     * </pre>
     */
    public void searchBatch(io.clipdb.v1.SearchBatchRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchBatchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSearchBatchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Counts the live points of a collection, or (with a filter) exactly
     * those that match.
     * </pre>
     */
    public void count(io.clipdb.v1.CountRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCountMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Pages through a collection (or the points matching a filter) in id
     * order. Every point that exists throughout the scroll is returned exactly
     * once; a point written or deleted meanwhile may or may not appear, and
     * none appears twice. Pass `next_page_token` back for the next page; an
     * empty one ends the scroll. Tokens stay valid across restarts, not
     * across dropping and re-creating the collection.
     * </pre>
     */
    public void scroll(io.clipdb.v1.ScrollRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.ScrollResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getScrollMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Merges `payload` into (or, with `replace`, substitutes it for) the
     * payload of the given points or of every point matching a filter,
     * without touching vectors. Atomic and durable like an upsert; missing
     * ids are ignored.
     * </pre>
     */
    public void setPayload(io.clipdb.v1.SetPayloadRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SetPayloadResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSetPayloadMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes payload keys (top-level or dotted) from the given points or
     * every point matching a filter. Atomic and durable like an upsert.
     * </pre>
     */
    public void deletePayloadKeys(io.clipdb.v1.DeletePayloadKeysRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadKeysResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeletePayloadKeysMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * "More like these, less like those": searches with the mean of the
     * positive examples pushed away from the mean of the negative ones
     * (2 * mean(positive) - mean(negative), the average-vector strategy; with
     * no negatives, the mean of the positives). Examples given by id are left
     * out of the hits.
     * </pre>
     */
    public void recommend(io.clipdb.v1.RecommendRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecommendMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service Points.
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public static final class PointsBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PointsBlockingV2Stub> {
    private PointsBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PointsBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PointsBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Inserts or replaces points (by id). All or nothing: one invalid point
     * fails the request and nothing is stored. Acknowledged once durable.
     * </pre>
     */
    public io.clipdb.v1.UpsertResponse upsert(io.clipdb.v1.UpsertRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpsertMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Bulk load: a stream of upsert batches. Each message is applied and made
     * durable as a unit, in order; the response counts all upserted points. On
     * an error the stream stops; batches before the failing one stay stored.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<io.clipdb.v1.UpsertRequest, io.clipdb.v1.UpsertResponse>
        upsertStream() {
      return io.grpc.stub.ClientCalls.blockingClientStreamingCall(
          getChannel(), getUpsertStreamMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Fetches points by id. Missing ids are simply absent from the response.
     * </pre>
     */
    public io.clipdb.v1.GetResponse get(io.clipdb.v1.GetRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes points by id. Missing ids are ignored. Acknowledged once durable.
     * </pre>
     */
    public io.clipdb.v1.DeleteResponse delete(io.clipdb.v1.DeleteRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Nearest-neighbour search, best first.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse search(io.clipdb.v1.SearchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSearchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Many searches in one request (up to 1 024; each may name its own
     * collection), run concurrently; results in request order. If any search
     * fails the whole call fails with that search's status, its message
     * starting with `searches[i]`.
     * </pre>
     */
    public io.clipdb.v1.SearchBatchResponse searchBatch(io.clipdb.v1.SearchBatchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSearchBatchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts the live points of a collection, or (with a filter) exactly
     * those that match.
     * </pre>
     */
    public io.clipdb.v1.CountResponse count(io.clipdb.v1.CountRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCountMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pages through a collection (or the points matching a filter) in id
     * order. Every point that exists throughout the scroll is returned exactly
     * once; a point written or deleted meanwhile may or may not appear, and
     * none appears twice. Pass `next_page_token` back for the next page; an
     * empty one ends the scroll. Tokens stay valid across restarts, not
     * across dropping and re-creating the collection.
     * </pre>
     */
    public io.clipdb.v1.ScrollResponse scroll(io.clipdb.v1.ScrollRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getScrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Merges `payload` into (or, with `replace`, substitutes it for) the
     * payload of the given points or of every point matching a filter,
     * without touching vectors. Atomic and durable like an upsert; missing
     * ids are ignored.
     * </pre>
     */
    public io.clipdb.v1.SetPayloadResponse setPayload(io.clipdb.v1.SetPayloadRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSetPayloadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes payload keys (top-level or dotted) from the given points or
     * every point matching a filter. Atomic and durable like an upsert.
     * </pre>
     */
    public io.clipdb.v1.DeletePayloadKeysResponse deletePayloadKeys(io.clipdb.v1.DeletePayloadKeysRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeletePayloadKeysMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * "More like these, less like those": searches with the mean of the
     * positive examples pushed away from the mean of the negative ones
     * (2 * mean(positive) - mean(negative), the average-vector strategy; with
     * no negatives, the mean of the positives). Examples given by id are left
     * out of the hits.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse recommend(io.clipdb.v1.RecommendRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRecommendMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service Points.
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public static final class PointsBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PointsBlockingStub> {
    private PointsBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PointsBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PointsBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Inserts or replaces points (by id). All or nothing: one invalid point
     * fails the request and nothing is stored. Acknowledged once durable.
     * </pre>
     */
    public io.clipdb.v1.UpsertResponse upsert(io.clipdb.v1.UpsertRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpsertMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Fetches points by id. Missing ids are simply absent from the response.
     * </pre>
     */
    public io.clipdb.v1.GetResponse get(io.clipdb.v1.GetRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes points by id. Missing ids are ignored. Acknowledged once durable.
     * </pre>
     */
    public io.clipdb.v1.DeleteResponse delete(io.clipdb.v1.DeleteRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Nearest-neighbour search, best first.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse search(io.clipdb.v1.SearchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSearchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Many searches in one request (up to 1 024; each may name its own
     * collection), run concurrently; results in request order. If any search
     * fails the whole call fails with that search's status, its message
     * starting with `searches[i]`.
     * </pre>
     */
    public io.clipdb.v1.SearchBatchResponse searchBatch(io.clipdb.v1.SearchBatchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSearchBatchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Counts the live points of a collection, or (with a filter) exactly
     * those that match.
     * </pre>
     */
    public io.clipdb.v1.CountResponse count(io.clipdb.v1.CountRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCountMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pages through a collection (or the points matching a filter) in id
     * order. Every point that exists throughout the scroll is returned exactly
     * once; a point written or deleted meanwhile may or may not appear, and
     * none appears twice. Pass `next_page_token` back for the next page; an
     * empty one ends the scroll. Tokens stay valid across restarts, not
     * across dropping and re-creating the collection.
     * </pre>
     */
    public io.clipdb.v1.ScrollResponse scroll(io.clipdb.v1.ScrollRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getScrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Merges `payload` into (or, with `replace`, substitutes it for) the
     * payload of the given points or of every point matching a filter,
     * without touching vectors. Atomic and durable like an upsert; missing
     * ids are ignored.
     * </pre>
     */
    public io.clipdb.v1.SetPayloadResponse setPayload(io.clipdb.v1.SetPayloadRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSetPayloadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes payload keys (top-level or dotted) from the given points or
     * every point matching a filter. Atomic and durable like an upsert.
     * </pre>
     */
    public io.clipdb.v1.DeletePayloadKeysResponse deletePayloadKeys(io.clipdb.v1.DeletePayloadKeysRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeletePayloadKeysMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * "More like these, less like those": searches with the mean of the
     * positive examples pushed away from the mean of the negative ones
     * (2 * mean(positive) - mean(negative), the average-vector strategy; with
     * no negatives, the mean of the positives). Examples given by id are left
     * out of the hits.
     * </pre>
     */
    public io.clipdb.v1.SearchResponse recommend(io.clipdb.v1.RecommendRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecommendMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service Points.
   * <pre>
   * Writes, reads and searches points.
   * </pre>
   */
  public static final class PointsFutureStub
      extends io.grpc.stub.AbstractFutureStub<PointsFutureStub> {
    private PointsFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PointsFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PointsFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Inserts or replaces points (by id). All or nothing: one invalid point
     * fails the request and nothing is stored. Acknowledged once durable.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.UpsertResponse> upsert(
        io.clipdb.v1.UpsertRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpsertMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Fetches points by id. Missing ids are simply absent from the response.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.GetResponse> get(
        io.clipdb.v1.GetRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes points by id. Missing ids are ignored. Acknowledged once durable.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.DeleteResponse> delete(
        io.clipdb.v1.DeleteRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Nearest-neighbour search, best first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SearchResponse> search(
        io.clipdb.v1.SearchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSearchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Many searches in one request (up to 1 024; each may name its own
     * collection), run concurrently; results in request order. If any search
     * fails the whole call fails with that search's status, its message
     * starting with `searches[i]`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SearchBatchResponse> searchBatch(
        io.clipdb.v1.SearchBatchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSearchBatchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Counts the live points of a collection, or (with a filter) exactly
     * those that match.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.CountResponse> count(
        io.clipdb.v1.CountRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCountMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Pages through a collection (or the points matching a filter) in id
     * order. Every point that exists throughout the scroll is returned exactly
     * once; a point written or deleted meanwhile may or may not appear, and
     * none appears twice. Pass `next_page_token` back for the next page; an
     * empty one ends the scroll. Tokens stay valid across restarts, not
     * across dropping and re-creating the collection.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.ScrollResponse> scroll(
        io.clipdb.v1.ScrollRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getScrollMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Merges `payload` into (or, with `replace`, substitutes it for) the
     * payload of the given points or of every point matching a filter,
     * without touching vectors. Atomic and durable like an upsert; missing
     * ids are ignored.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SetPayloadResponse> setPayload(
        io.clipdb.v1.SetPayloadRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSetPayloadMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes payload keys (top-level or dotted) from the given points or
     * every point matching a filter. Atomic and durable like an upsert.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.DeletePayloadKeysResponse> deletePayloadKeys(
        io.clipdb.v1.DeletePayloadKeysRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeletePayloadKeysMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * "More like these, less like those": searches with the mean of the
     * positive examples pushed away from the mean of the negative ones
     * (2 * mean(positive) - mean(negative), the average-vector strategy; with
     * no negatives, the mean of the positives). Examples given by id are left
     * out of the hits.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.SearchResponse> recommend(
        io.clipdb.v1.RecommendRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecommendMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_UPSERT = 0;
  private static final int METHODID_GET = 1;
  private static final int METHODID_DELETE = 2;
  private static final int METHODID_SEARCH = 3;
  private static final int METHODID_SEARCH_BATCH = 4;
  private static final int METHODID_COUNT = 5;
  private static final int METHODID_SCROLL = 6;
  private static final int METHODID_SET_PAYLOAD = 7;
  private static final int METHODID_DELETE_PAYLOAD_KEYS = 8;
  private static final int METHODID_RECOMMEND = 9;
  private static final int METHODID_UPSERT_STREAM = 10;

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
        case METHODID_UPSERT:
          serviceImpl.upsert((io.clipdb.v1.UpsertRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse>) responseObserver);
          break;
        case METHODID_GET:
          serviceImpl.get((io.clipdb.v1.GetRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.GetResponse>) responseObserver);
          break;
        case METHODID_DELETE:
          serviceImpl.delete((io.clipdb.v1.DeleteRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.DeleteResponse>) responseObserver);
          break;
        case METHODID_SEARCH:
          serviceImpl.search((io.clipdb.v1.SearchRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse>) responseObserver);
          break;
        case METHODID_SEARCH_BATCH:
          serviceImpl.searchBatch((io.clipdb.v1.SearchBatchRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SearchBatchResponse>) responseObserver);
          break;
        case METHODID_COUNT:
          serviceImpl.count((io.clipdb.v1.CountRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.CountResponse>) responseObserver);
          break;
        case METHODID_SCROLL:
          serviceImpl.scroll((io.clipdb.v1.ScrollRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.ScrollResponse>) responseObserver);
          break;
        case METHODID_SET_PAYLOAD:
          serviceImpl.setPayload((io.clipdb.v1.SetPayloadRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SetPayloadResponse>) responseObserver);
          break;
        case METHODID_DELETE_PAYLOAD_KEYS:
          serviceImpl.deletePayloadKeys((io.clipdb.v1.DeletePayloadKeysRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.DeletePayloadKeysResponse>) responseObserver);
          break;
        case METHODID_RECOMMEND:
          serviceImpl.recommend((io.clipdb.v1.RecommendRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.SearchResponse>) responseObserver);
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
        case METHODID_UPSERT_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.upsertStream(
              (io.grpc.stub.StreamObserver<io.clipdb.v1.UpsertResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getUpsertMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.UpsertRequest,
              io.clipdb.v1.UpsertResponse>(
                service, METHODID_UPSERT)))
        .addMethod(
          getUpsertStreamMethod(),
          io.grpc.stub.ServerCalls.asyncClientStreamingCall(
            new MethodHandlers<
              io.clipdb.v1.UpsertRequest,
              io.clipdb.v1.UpsertResponse>(
                service, METHODID_UPSERT_STREAM)))
        .addMethod(
          getGetMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.GetRequest,
              io.clipdb.v1.GetResponse>(
                service, METHODID_GET)))
        .addMethod(
          getDeleteMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.DeleteRequest,
              io.clipdb.v1.DeleteResponse>(
                service, METHODID_DELETE)))
        .addMethod(
          getSearchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.SearchRequest,
              io.clipdb.v1.SearchResponse>(
                service, METHODID_SEARCH)))
        .addMethod(
          getSearchBatchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.SearchBatchRequest,
              io.clipdb.v1.SearchBatchResponse>(
                service, METHODID_SEARCH_BATCH)))
        .addMethod(
          getCountMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.CountRequest,
              io.clipdb.v1.CountResponse>(
                service, METHODID_COUNT)))
        .addMethod(
          getScrollMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.ScrollRequest,
              io.clipdb.v1.ScrollResponse>(
                service, METHODID_SCROLL)))
        .addMethod(
          getSetPayloadMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.SetPayloadRequest,
              io.clipdb.v1.SetPayloadResponse>(
                service, METHODID_SET_PAYLOAD)))
        .addMethod(
          getDeletePayloadKeysMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.DeletePayloadKeysRequest,
              io.clipdb.v1.DeletePayloadKeysResponse>(
                service, METHODID_DELETE_PAYLOAD_KEYS)))
        .addMethod(
          getRecommendMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.RecommendRequest,
              io.clipdb.v1.SearchResponse>(
                service, METHODID_RECOMMEND)))
        .build();
  }

  private static abstract class PointsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PointsBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.clipdb.v1.Clipdb.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("Points");
    }
  }

  private static final class PointsFileDescriptorSupplier
      extends PointsBaseDescriptorSupplier {
    PointsFileDescriptorSupplier() {}
  }

  private static final class PointsMethodDescriptorSupplier
      extends PointsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PointsMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (PointsGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PointsFileDescriptorSupplier())
              .addMethod(getUpsertMethod())
              .addMethod(getUpsertStreamMethod())
              .addMethod(getGetMethod())
              .addMethod(getDeleteMethod())
              .addMethod(getSearchMethod())
              .addMethod(getSearchBatchMethod())
              .addMethod(getCountMethod())
              .addMethod(getScrollMethod())
              .addMethod(getSetPayloadMethod())
              .addMethod(getDeletePayloadKeysMethod())
              .addMethod(getRecommendMethod())
              .build();
        }
      }
    }
    return result;
  }
}
