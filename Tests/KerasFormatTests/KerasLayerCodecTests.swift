import DenseNetEngine
import Foundation
import Testing
@testable import KerasFormat

/// Each layer kind's `get_config` / `from_config` pair (`Config/Layers/`), one per registry entry.
@Suite struct KerasLayerCodecTests {
    /// One layer of every registered kind, with options off their defaults.
    static var samples: [any KerasLayerCodec] {
        [
            InputLayer(shape: [8, 6, 3], name: "input_2"),
            ZeroPadding2D(padding: ((1, 2), (3, 4)), name: "pad"),
            Conv2D(filters: 4, kernelSize: (3, 1), strides: (2, 1), padding: .same, useBias: false, activation: .relu, name: "conv"),
            BatchNormalization(momentum: 0.9, epsilon: 1.001e-5, name: "bn"),
            Activation(.softmax, name: "probabilities"),
            ReLU(name: "relu"),
            MaxPooling2D(poolSize: (3, 3), strides: (2, 1), padding: .same, name: "max_pool"),
            AveragePooling2D(poolSize: (2, 2), name: "avg_pool"),
            Concatenate(name: "concat"),
            GlobalAveragePooling2D(name: "avg"),
            GlobalMaxPooling2D(name: "max"),
            Flatten(name: "flatten"),
            Dense(units: 5, activation: .softmax, useBias: false, name: "predictions")
        ]
    }

    @Test func supportedLayersAreTheRegistrysInOrder() {
        #expect(
            KerasModelConfig.supportedLayers == [
                "InputLayer", "ZeroPadding2D", "Conv2D", "BatchNormalization", "Activation", "ReLU",
                "MaxPooling2D", "AveragePooling2D", "Concatenate", "GlobalAveragePooling2D",
                "GlobalMaxPooling2D", "Flatten", "Dense"
            ])
        #expect(Self.samples.map { type(of: $0).configClassName } == KerasModelConfig.supportedLayers)
        #expect(Self.samples.allSatisfy { type(of: $0).configClassName == $0.kerasClassName })
    }

    /// What Keras 3's functional API records besides the config: `build_config` for layers that
    /// define `build()`, BatchNormalization's `mask` keyword, Concatenate's list argument.
    @Test func keras3CallDetailsAreCodecProperties() {
        let built = KerasLayerCodecs.all.filter { $0.hasBuildConfig }.map { $0.configClassName }
        #expect(built == ["ZeroPadding2D", "Conv2D", "BatchNormalization", "Concatenate", "Flatten", "Dense"])
        #expect(KerasLayerCodecs.all.filter { $0.takesInputList }.map { $0.configClassName } == ["Concatenate"])
        #expect(KerasLayerCodecs.all.filter { !$0.callKeywords.isEmpty }.map { $0.configClassName } == ["BatchNormalization"])
        #expect(JSON.object(BatchNormalization.callKeywords) == .object([("mask", .null)]))
    }

    /// `from_config(get_config())` gives the layer back: its config, written again, is the same.
    @Test(arguments: KerasFlavor.allCases)
    func configRoundTripsThroughEveryCodec(flavor: KerasFlavor) throws {
        for layer in Self.samples {
            let writer = LayerConfigWriter(name: layer.name ?? "", flavor: flavor, inputShapes: [[8, 6, 3]])
            let config = JSON.object(layer.config(writer))
            let codec = try #require(KerasLayerCodecs.codec(named: layer.kerasClassName))
            let rebuilt = try codec.make(from: LayerConfig(json: config, name: writer.name, file: "test", flavor: flavor))
            #expect(type(of: rebuilt) == type(of: layer))
            #expect(JSON.object(rebuilt.config(writer)) == config, "\(layer.kerasClassName)")
            if let bn = rebuilt as? BatchNormalization { #expect(bn.movingVarianceUpdate == flavor.movingVarianceUpdate) }
        }
    }

    @Test func unsupportedOptionNamesLayerExpectedAndFound() throws {
        let config = LayerConfig(
            json: .object([("filters", .int(2)), ("kernel_size", .int(3)), ("data_format", .string("channels_first"))]),
            name: "conv", file: "model.json", flavor: .keras3)
        let error = try #require(throws: KerasFormatError.self) { try Conv2D.make(from: config) }
        #expect(
            error
                == KerasFormatError(
                    .wrongFormat, file: "model.json", layer: "conv",
                    expected: "data_format channels_last (NHWC)", found: "channels_first"))
        let relu = LayerConfig(json: .object([("max_value", .double(6))]), name: "relu6", file: "model.json", flavor: .tfKeras)
        let reluError = try #require(throws: KerasFormatError.self) { try ReLU.make(from: relu) }
        #expect(reluError.found == #"{"max_value": 6.0}"#)
    }

    /// A config from the internet nested 200 000 deep is a malformed file, not a crash.
    @Test func hostileConfigIsAnError() throws {
        let deep = #"{"class_name": "Functional", "config": "# + String(repeating: "[", count: 200_000)
        let error = try #require(throws: KerasFormatError.self) { try KerasModelConfig(json: deep, file: "deep.json") }
        #expect(error.file == "deep.json" && error.found == "nesting deeper than 512 levels at byte \(39 + 511)")
        let invalid = try #require(throws: KerasFormatError.self) {
            try KerasModelConfig(data: .init([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]), file: "bad.json")
        }
        #expect(invalid.found == "invalid UTF-8 at byte 2")
    }
}
