import DenseNetEngine
import Foundation
import HDF5
import TestSupport
import Testing
@testable import KerasFormat

@Suite struct SafetensorsTests {
    @Test func containerRoundTripIsByteExactAndAligned() throws {
        var file = SafetensorsFile(metadata: ["format": "pt"])
        file.tensors["b.weight"] = .init(shape: [2, 3], floats: [1, -0.0, .nan, .infinity, 5, 6])
        file.tensors["a.count"] = .init(dtype: .i64, shape: [], bytes: [7, 0, 0, 0, 0, 0, 0, 0])
        let bytes = try file.serialized()
        let length = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(length % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"a.count":{"data_offsets":[0,8]"#))
        let parsed = try SafetensorsFile.parse(bytes, file: "x.safetensors")
        #expect(parsed.tensors["b.weight"]!.bytes == file.tensors["b.weight"]!.bytes)  // NaN, -0 bit-exact
        #expect(parsed.metadata == ["format": "pt"])
        #expect(try parsed.serialized() == bytes)
    }

    @Test func truncatedAndInconsistentFilesAreRejectedWithTheReason() throws {
        var file = SafetensorsFile()
        file.tensors["w"] = .init(shape: [4], floats: [1, 2, 3, 4])
        let bytes = try file.serialized()
        #expect(throws: KerasFormatError.self) { try SafetensorsFile.parse(Array(bytes.dropLast(3)), file: "t") }
        #expect(throws: KerasFormatError.self) { try SafetensorsFile.parse(Array(bytes.prefix(5)), file: "t") }
        #expect(throws: KerasFormatError.self) { try SafetensorsFile.parse(bytes + [0, 0, 0, 0], file: "t") }
        do {
            _ = try SafetensorsFile.parse(Array(bytes.dropLast(4)), file: "t.safetensors")
            Issue.record("truncated file parsed")
        } catch let error as KerasFormatError {
            #expect(error.reason == .malformed)
            #expect(error.description.contains("t.safetensors"))
        }
    }

    @Test func permutationsInvert() {
        let transform = SafetensorsWeightLayout.Transform(view: [2, 3, 4, 5], axes: [3, 2, 0, 1])
        let values = (0..<120).map(Float.init)
        let torch = transform.apply(values)
        // element (h=1, w=2, i=3, o=4) of HWIO lands at (o=4, i=3, h=1, w=2) of OIHW
        let torchIndex: Int = ((4 * 4 + 3) * 2 + 1) * 3 + 2
        let kerasIndex: Int = ((1 * 3 + 2) * 4 + 3) * 5 + 4
        #expect(torch[torchIndex] == values[kerasIndex])
        #expect(transform.invert(torch) == values)
    }

    @Test func tutorialModelGetsPyTorchNamesAndLayouts() throws {
        let model = try makeMiniModel()
        let layout = SafetensorsWeightLayout(model: model)
        let shapes = Dictionary(uniqueKeysWithValues: layout.entries.map { ($0.name, $0.torchShape) })
        #expect(shapes["conv1.weight"] == [8, 1, 3, 3])
        #expect(shapes["dl1.sequence.0.bn.weight"] == [8])
        #expect(shapes["dl1.sequence.1.bn.running_var"] == [12])
        #expect(shapes["dl2.sequence.0.conv.weight"] == [8, 16, 3, 3])
        #expect(shapes["tr1.conv.bias"] == [16])
        #expect(shapes["dense1.weight"] == [128, 3136])
        #expect(shapes["dense2.weight"] == [10, 128])
        #expect(layout.entries.count == model.weights.count)
        #expect(layout.counterNames.count == 6)
        #expect(layout.counterNames.first == "dl1.sequence.0.bn.num_batches_tracked")
        let dense1 = try #require(layout.entries.first { $0.name == "dense1.weight" })
        #expect(dense1.transform == .init(view: [7, 7, 64, 128], axes: [3, 2, 0, 1]))
        #expect(dense1.kerasLayer == "dense")
        #expect(dense1.kerasWeight == "kernel")
        #expect(dense1.kerasIndex == 0)
    }

    /// PyTorch flattens NCHW maps channel-first; the reordered Dense weight must give Keras' result.
    @Test func flattenReorderKeepsDenseOutputs() throws {
        let model = try makeMiniModel()
        try model.loadWeights(from: Fixture.tfKerasWeights)
        let entry = try #require(SafetensorsWeightLayout(model: model).entries.first { $0.name == "dense1.weight" })
        let kernel = entry.variable.values  // (7*7*64, 128), rows in h, w, c order
        let torch = entry.transform.apply(kernel)  // (128, 64*7*7), columns in c, h, w order
        var rng = SplitMix64(seed: 3)
        let map = (0..<(7 * 7 * 64)).map { _ in Double(rng.nextUnitFloat()) }  // NHWC
        for unit in [0, 57, 127] {
            var keras = 0.0, pytorch = 0.0
            for h in 0..<7 {
                for w in 0..<7 {
                    for c in 0..<64 {
                        let x = map[(h * 7 + w) * 64 + c]
                        keras += x * Double(kernel[((h * 7 + w) * 64 + c) * 128 + unit])
                        pytorch += x * Double(torch[unit * 3136 + (c * 7 + h) * 7 + w])
                    }
                }
            }
            #expect(abs(keras - pytorch) <= 1e-9 * max(1, abs(keras)))
        }
    }

    @Test func safetensorsRoundTripIsBitExactAndNamesItsFile() throws {
        let model = try makeMiniModel()
        try model.loadWeights(from: Fixture.tfKerasWeights)
        let path = temporaryPath("w.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path, format: .safetensors)
        #expect(try WeightFile(path).format == .safetensors)
        #expect(WeightFileFormat(fileName: path) == .safetensors)
        let copy = try makeMiniModel()
        #expect(try copy.loadWeights(from: path) == .safetensors)
        #expect(weightBits(copy) == weightBits(model))
        let file = try SafetensorsFile.read(path)
        #expect(file.metadata["format"] == "pt")
        let provenance = try SafetensorsWeightsFormat.provenance(of: file, path: path)
        #expect(provenance["dl1.sequence.0.bn.running_mean"]?.layer == "batch_normalization")
        #expect(provenance["dl1.sequence.0.bn.running_mean"]?.index == 2)
        #expect(file.tensors["dl1.sequence.0.bn.num_batches_tracked"]?.dtype == .i64)
        // written twice, the same bytes
        let again = temporaryPath("again.safetensors")
        defer { try? FileManager.default.removeItem(atPath: again) }
        try copy.saveWeights(to: again, format: .safetensors)
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: path))
    }

    @Test func missingTensorNamesTheKerasLayerAndWeight() throws {
        let model = try makeMiniModel()
        var file = try SafetensorsWeightsFormat.file(for: SafetensorsWeightLayout(model: model))
        file.tensors["tr2.conv.weight"] = nil
        do {
            try SafetensorsWeightsFormat.load(SafetensorsWeightLayout(model: model), from: file, path: "w.safetensors")
            Issue.record("loaded without tr2.conv.weight")
        } catch let error as KerasFormatError {
            #expect(error.reason == .missingLayer)
            #expect(error.description.contains("conv2d_6"))
            #expect(error.description.contains("tr2.conv.weight"))
        }
    }

    @Test(arguments: [
        ("conv1/conv", "features.conv0"), ("conv1_bn", "features.norm0"),
        ("conv2_block1_0_bn", "features.denseblock1.denselayer1.norm1"),
        ("conv3_block12_1_conv", "features.denseblock2.denselayer12.conv1"),
        ("conv5_block16_1_bn", "features.denseblock4.denselayer16.norm2"),
        ("conv4_block24_2_conv", "features.denseblock3.denselayer24.conv2"),
        ("pool2_bn", "features.transition1.norm"), ("pool4_conv", "features.transition3.conv"),
        ("bn", "features.norm5"), ("predictions", "classifier")
    ])
    func torchvisionDenseNetNames(keras: String, torch: String) {
        #expect(torchvisionDenseNetModule(for: keras) == torch)
    }

    @Test func otherNamesHaveNoTorchvisionModule() {
        #expect(torchvisionDenseNetModule(for: "conv2_block1_concat") == nil)
        #expect(torchvisionDenseNetModule(for: "dense") == nil)
    }
}
