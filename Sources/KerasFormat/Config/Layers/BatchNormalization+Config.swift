import DenseNetEngine

extension BatchNormalization: KerasLayerCodec {
    static var configClassName: String { "BatchNormalization" }
    static var hasBuildConfig: Bool { true }
    /// Its `call()` has a `mask` argument, which Keras 3's functional API records.
    static var callKeywords: [(String, JSON)] { [("mask", .null)] }

    /// tf-keras' config after build lists the normalised axes; Keras 3 keeps the integer given and
    /// has four more options.
    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [
            ("axis", writer.isKeras3 ? .int(writer.channelAxis) : .array([.int(writer.channelAxis)])),
            ("momentum", .double(Double(momentum).roundedToFloat32Repr)),
            ("epsilon", .double(Double(epsilon).roundedToFloat32Repr)), ("center", .bool(true)), ("scale", .bool(true)),
            ("beta_initializer", writer.initializer("Zeros")), ("gamma_initializer", writer.initializer("Ones")),
            ("moving_mean_initializer", writer.initializer("Zeros")), ("moving_variance_initializer", writer.initializer("Ones")),
            ("beta_regularizer", .null), ("gamma_regularizer", .null), ("beta_constraint", .null), ("gamma_constraint", .null)
        ]
            + (writer.isKeras3
                ? [
                    ("synchronized", .bool(false)), ("renorm", .bool(false)), ("renorm_clipping", .null),
                    ("renorm_momentum", .double(0.99))
                ] : [])
    }

    /// The moving-variance update is the flavor's: tf-keras corrects the batch variance, Keras 3 does not.
    static func make(from config: LayerConfig) throws -> BatchNormalization {
        try config.requireChannelAxis()
        guard config.bool("center", true), config.bool("scale", true) else {
            throw config.failure("center and scale (beta and gamma)", "center/scale off")
        }
        if config.bool("renorm", false) { throw config.failure("no batch renormalization", "renorm") }
        return BatchNormalization(
            momentum: try config.double("momentum", 0.99), epsilon: try config.double("epsilon", 1e-3),
            movingVarianceUpdate: config.flavor.movingVarianceUpdate, name: config.name)
    }
}

extension Double {
    /// A float32 hyper-parameter (BatchNormalization's momentum, epsilon) as the Python float the
    /// user wrote: the shortest decimal that rounds to the same float32 (0.99f → 0.99).
    var roundedToFloat32Repr: Double { Double("\(Float(self))") ?? self }
}
