import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// `.keras` archives of functional models: `config.json` is Keras 3's own functional config, which
/// our config reader (and `Fixtures/check_keras_functional_archive.py`, real Keras) reads back.
@Suite struct FunctionalArchiveTests {
    /// `json` without Keras' `shared_object_id`s (Python object ids, different in every process).
    func withoutSharedIDs(_ json: JSON) -> JSON {
        switch json {
        case let .object(members): .object(members.filter { $0.0 != "shared_object_id" }.map { ($0.0, withoutSharedIDs($0.1)) })
        case let .array(items): .array(items.map(withoutSharedIDs))
        default: json
        }
    }

    @Test func configOfTheKeras3DenseNetIsKerasOwnByteForByte() throws {
        let fixture = DenseNetFixture.small(.keras3)
        let model = try KerasModelConfig(contentsOf: fixture.modelFile).makeModel()
        let data = try #require(try archiveEntries(fixture.modelFile).first { $0.name == "config.json" }?.data)
        let keras = withoutSharedIDs(try JSON.parse(String(decoding: data, as: UTF8.self)))
        let ours = try KerasArchive.configJSON(model, optimizer: nil)
        #expect(ours == keras)
        // Same keys in the same order, same number formatting: json.dumps' text.
        #expect(ours.description == keras.description)
    }

    @Test(arguments: [
        (KerasFlavor.keras3, true, DenseNetPooling?.none, [10]), (.tfKeras, true, nil, [10]),
        (.keras3, false, .avg, [128]), (.keras3, false, .max, [128]), (.keras3, false, nil, [2, 2, 128])
    ])
    func smallDenseNetArchiveReadsBackThroughTheConfigReader(
        flavor: KerasFlavor, includeTop: Bool, pooling: DenseNetPooling?,
        outputShape: [Int]
    ) throws {
        let functional = try DenseNetApplication.build(
            DenseNetOptions(
                blocks: [2, 2, 2, 2], includeTop: includeTop, inputShape: [64, 64, 3],
                classes: 10, pooling: pooling, flavor: flavor))
        let model = try Model(root: functional, inputShape: [64, 64, 3], seed: 5)
        let path = temporaryPath("densenet.keras")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try KerasArchive.write(model, to: path)

        let config = try KerasModelConfig(contentsOf: path)
        // Keras 3 names have no `/`: tf-keras' conv1/conv is written conv1_conv.
        let rename = { (name: String) in name.replacingOccurrences(of: "/", with: "_") }
        #expect(config.flavor == .keras3)
        #expect(config.name == "densenet")
        #expect(config.inputShape == [64, 64, 3])
        #expect(config.inputName == rename(functional.inputName))
        #expect(config.outputName == rename(functional.outputName))
        #expect(
            config.layers.map { [$0.className, $0.name] + $0.inbound }
                == functional.nodes.map {
                    [$0.layer.kerasClassName, rename($0.layer.name!)] + ($0.layer is InputLayer ? [] : $0.inbound.map(rename))
                })
        #expect(config.layers.contains { $0.name == "predictions" } == includeTop)

        let rebuilt = try config.makeModel(seed: 6)
        #expect(rebuilt.outputShape == outputShape)
        try rebuilt.loadWeights(from: path)
        #expect(weightBits(rebuilt) == weightBits(model))
        var rng = SplitMix64(seed: 9)
        let inputs = (0..<2 * 64 * 64 * 3).map { _ in rng.nextUnitFloat() }
        #expect(try rebuilt.predict(inputs).map(\.bitPattern) == model.predict(inputs).map(\.bitPattern))
    }
}
