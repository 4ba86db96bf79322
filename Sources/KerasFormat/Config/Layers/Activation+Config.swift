import DenseNetEngine

extension Activation: KerasLayerCodec {
    static var configClassName: String { "Activation" }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("activation", .string(function.rawValue))]
    }

    static func make(from config: LayerConfig) throws -> Activation {
        Activation(try config.activation([.linear, .relu, .softmax]), name: config.name)
    }
}
