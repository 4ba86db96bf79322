import DenseNetEngine
import HDF5
import KerasFormat
import TestSupport
import Testing

@Suite struct NamingTests {
    @Test(arguments: [
        ("Conv2D", "conv2d"), ("BatchNormalization", "batch_normalization"), ("MaxPooling2D", "max_pooling2d"),
        ("DenseUnit", "dense_unit"), ("ZeroPadding2D", "zero_padding2d"), ("GlobalAveragePooling2D", "global_average_pooling2d"),
        ("ReLU", "re_lu"), ("DenseNet", "dense_net"), ("_Private", "private__private")
    ])
    func snakeCaseFollowsKeras(className: String, expected: String) {
        #expect(kerasSnakeCase(className) == expected)
    }

    @Test func legacyLayoutMatchesWhatTfKerasWrote() throws {
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: try makeMiniModel().root))
        let file = try File.open(Fixture.tfKerasWeights)
        #expect(layout.layers.map(\.name) == (try file.root.attributes.readStrings("layer_names")))
        for layer in layout.layers {
            let saved = try file.root.group(layer.name).attributes
            let names = try saved.dataType(of: "weight_names") == .string ? try saved.readStrings("weight_names") : []
            #expect(layer.weights.map(\.name) == names, "layer \(layer.name)")
        }
    }

    @Test func keras3LayoutMatchesWhatKeras3Wrote() throws {
        let layout = Keras3WeightLayout(tree: NamedLayerTree(model: try makeMiniModel().root))
        let file = try File.open(Fixture.keras3Weights)
        var saved: [String: String] = [:]
        func collect(_ group: Group, _ prefix: String) throws {
            for child in try group.childNames() where try group.kind(of: child) == .group {
                let path = prefix.isEmpty ? child : "\(prefix)/\(child)"
                if child == "vars" {
                    saved[path] = try group.group(child).attributes.string("name")
                } else {
                    try collect(group.group(child), path)
                }
            }
        }
        try collect(file.root, "")
        #expect(Dictionary(uniqueKeysWithValues: layout.entries.map { ($0.path, $0.layerName) }) == saved)
        #expect(layout.entries.first { $0.path == "layers/transition_layer/vars" }?.layerName == "transition_layer")
    }
}

private extension Attributes {
    func readStrings(_ name: String) throws -> [String] { try attribute(name).readStrings().strings }
    func dataType(of name: String) throws -> DataType { try attribute(name).dataType() }
}
