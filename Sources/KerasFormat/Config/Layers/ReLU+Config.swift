import DenseNetEngine

extension ReLU: KerasLayerCodec {
    static var configClassName: String { "ReLU" }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("max_value", .null), ("negative_slope", .double(0)), ("threshold", .double(0))]
    }

    static func make(from config: LayerConfig) throws -> ReLU {
        let maxValue = config["max_value"]
        guard maxValue == nil || maxValue == .null, try config.double("negative_slope", 0) == 0, try config.double("threshold", 0) == 0
        else {
            throw config.failure("a plain ReLU (no max_value, negative_slope or threshold)", config.json)
        }
        return ReLU(name: config.name)
    }
}
