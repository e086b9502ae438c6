package io.clipdb.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Embeds text and images without storing them. Vectors are L2-normalised
 * CLIP embeddings, comparable with each other by dot product (= cosine).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class EmbeddingsGrpc {

  private EmbeddingsGrpc() {}

  public static final java.lang.String SERVICE_NAME = "clipdb.v1.Embeddings";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.EmbedTextRequest,
      io.clipdb.v1.EmbedResponse> getEmbedTextMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EmbedText",
      requestType = io.clipdb.v1.EmbedTextRequest.class,
      responseType = io.clipdb.v1.EmbedResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.EmbedTextRequest,
      io.clipdb.v1.EmbedResponse> getEmbedTextMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.EmbedTextRequest, io.clipdb.v1.EmbedResponse> getEmbedTextMethod;
    if ((getEmbedTextMethod = EmbeddingsGrpc.getEmbedTextMethod) == null) {
      synchronized (EmbeddingsGrpc.class) {
        if ((getEmbedTextMethod = EmbeddingsGrpc.getEmbedTextMethod) == null) {
          EmbeddingsGrpc.getEmbedTextMethod = getEmbedTextMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.EmbedTextRequest, io.clipdb.v1.EmbedResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EmbedText"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.EmbedTextRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.EmbedResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EmbeddingsMethodDescriptorSupplier("EmbedText"))
              .build();
        }
      }
    }
    return getEmbedTextMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.clipdb.v1.EmbedImageRequest,
      io.clipdb.v1.EmbedResponse> getEmbedImageMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EmbedImage",
      requestType = io.clipdb.v1.EmbedImageRequest.class,
      responseType = io.clipdb.v1.EmbedResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.clipdb.v1.EmbedImageRequest,
      io.clipdb.v1.EmbedResponse> getEmbedImageMethod() {
    io.grpc.MethodDescriptor<io.clipdb.v1.EmbedImageRequest, io.clipdb.v1.EmbedResponse> getEmbedImageMethod;
    if ((getEmbedImageMethod = EmbeddingsGrpc.getEmbedImageMethod) == null) {
      synchronized (EmbeddingsGrpc.class) {
        if ((getEmbedImageMethod = EmbeddingsGrpc.getEmbedImageMethod) == null) {
          EmbeddingsGrpc.getEmbedImageMethod = getEmbedImageMethod =
              io.grpc.MethodDescriptor.<io.clipdb.v1.EmbedImageRequest, io.clipdb.v1.EmbedResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EmbedImage"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.EmbedImageRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.clipdb.v1.EmbedResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EmbeddingsMethodDescriptorSupplier("EmbedImage"))
              .build();
        }
      }
    }
    return getEmbedImageMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static EmbeddingsStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EmbeddingsStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EmbeddingsStub>() {
        @java.lang.Override
        public EmbeddingsStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EmbeddingsStub(channel, callOptions);
        }
      };
    return EmbeddingsStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static EmbeddingsBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EmbeddingsBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EmbeddingsBlockingV2Stub>() {
        @java.lang.Override
        public EmbeddingsBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EmbeddingsBlockingV2Stub(channel, callOptions);
        }
      };
    return EmbeddingsBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static EmbeddingsBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EmbeddingsBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EmbeddingsBlockingStub>() {
        @java.lang.Override
        public EmbeddingsBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EmbeddingsBlockingStub(channel, callOptions);
        }
      };
    return EmbeddingsBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static EmbeddingsFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EmbeddingsFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EmbeddingsFutureStub>() {
        @java.lang.Override
        public EmbeddingsFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EmbeddingsFutureStub(channel, callOptions);
        }
      };
    return EmbeddingsFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * One embedding per text, in order. Texts are truncated to the model's
     * context, never rejected for length.
     * </pre>
     */
    default void embedText(io.clipdb.v1.EmbedTextRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEmbedTextMethod(), responseObserver);
    }

    /**
     * <pre>
     * One embedding per encoded image, in order.
     * </pre>
     */
    default void embedImage(io.clipdb.v1.EmbedImageRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEmbedImageMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service Embeddings.
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public static abstract class EmbeddingsImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return EmbeddingsGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service Embeddings.
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public static final class EmbeddingsStub
      extends io.grpc.stub.AbstractAsyncStub<EmbeddingsStub> {
    private EmbeddingsStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EmbeddingsStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EmbeddingsStub(channel, callOptions);
    }

    /**
     * <pre>
     * One embedding per text, in order. Texts are truncated to the model's
     * context, never rejected for length.
     * </pre>
     */
    public void embedText(io.clipdb.v1.EmbedTextRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEmbedTextMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * One embedding per encoded image, in order.
     * </pre>
     */
    public void embedImage(io.clipdb.v1.EmbedImageRequest request,
        io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEmbedImageMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service Embeddings.
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public static final class EmbeddingsBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<EmbeddingsBlockingV2Stub> {
    private EmbeddingsBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EmbeddingsBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EmbeddingsBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * One embedding per text, in order. Texts are truncated to the model's
     * context, never rejected for length.
     * </pre>
     */
    public io.clipdb.v1.EmbedResponse embedText(io.clipdb.v1.EmbedTextRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEmbedTextMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * One embedding per encoded image, in order.
     * </pre>
     */
    public io.clipdb.v1.EmbedResponse embedImage(io.clipdb.v1.EmbedImageRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEmbedImageMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service Embeddings.
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public static final class EmbeddingsBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<EmbeddingsBlockingStub> {
    private EmbeddingsBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EmbeddingsBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EmbeddingsBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * One embedding per text, in order. Texts are truncated to the model's
     * context, never rejected for length.
     * </pre>
     */
    public io.clipdb.v1.EmbedResponse embedText(io.clipdb.v1.EmbedTextRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEmbedTextMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * One embedding per encoded image, in order.
     * </pre>
     */
    public io.clipdb.v1.EmbedResponse embedImage(io.clipdb.v1.EmbedImageRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEmbedImageMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service Embeddings.
   * <pre>
   * Embeds text and images without storing them. Vectors are L2-normalised
   * CLIP embeddings, comparable with each other by dot product (= cosine).
   * </pre>
   */
  public static final class EmbeddingsFutureStub
      extends io.grpc.stub.AbstractFutureStub<EmbeddingsFutureStub> {
    private EmbeddingsFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EmbeddingsFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EmbeddingsFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * One embedding per text, in order. Texts are truncated to the model's
     * context, never rejected for length.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.EmbedResponse> embedText(
        io.clipdb.v1.EmbedTextRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEmbedTextMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * One embedding per encoded image, in order.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.clipdb.v1.EmbedResponse> embedImage(
        io.clipdb.v1.EmbedImageRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEmbedImageMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_EMBED_TEXT = 0;
  private static final int METHODID_EMBED_IMAGE = 1;

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
        case METHODID_EMBED_TEXT:
          serviceImpl.embedText((io.clipdb.v1.EmbedTextRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse>) responseObserver);
          break;
        case METHODID_EMBED_IMAGE:
          serviceImpl.embedImage((io.clipdb.v1.EmbedImageRequest) request,
              (io.grpc.stub.StreamObserver<io.clipdb.v1.EmbedResponse>) responseObserver);
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
          getEmbedTextMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.EmbedTextRequest,
              io.clipdb.v1.EmbedResponse>(
                service, METHODID_EMBED_TEXT)))
        .addMethod(
          getEmbedImageMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.clipdb.v1.EmbedImageRequest,
              io.clipdb.v1.EmbedResponse>(
                service, METHODID_EMBED_IMAGE)))
        .build();
  }

  private static abstract class EmbeddingsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    EmbeddingsBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.clipdb.v1.Clipdb.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("Embeddings");
    }
  }

  private static final class EmbeddingsFileDescriptorSupplier
      extends EmbeddingsBaseDescriptorSupplier {
    EmbeddingsFileDescriptorSupplier() {}
  }

  private static final class EmbeddingsMethodDescriptorSupplier
      extends EmbeddingsBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    EmbeddingsMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (EmbeddingsGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new EmbeddingsFileDescriptorSupplier())
              .addMethod(getEmbedTextMethod())
              .addMethod(getEmbedImageMethod())
              .build();
        }
      }
    }
    return result;
  }
}
