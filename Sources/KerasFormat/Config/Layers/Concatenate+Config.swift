import DenseNetEngine

extension Concatenate: KerasLayerCodec {
    static var configClassName: String { "Concatenate" }
    static var hasBuildConfig: Bool { true }
    /// A merge layer: Keras 3 records its inputs as one list argument.
    static var takesInputList: Bool { true }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("axis", .int(writer.isKeras3 ? writer.channelAxis : -1))]
    }

    static func make(from config: LayerConfig) throws -> Concatenate {
        try config.requireChannelAxis()
        return Concatenate(name: config.name)
    }
}
