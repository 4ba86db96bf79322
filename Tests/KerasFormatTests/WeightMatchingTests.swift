import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// Matching as each file's framework loads it, recognising a DenseNet from its weights, and the
/// model every command chooses (`WeightPairing`, `RecognizedDenseNet`, `ModelChoice`), on files
/// tf-keras, Keras 3 and the Keras 2 layout wrote (Fixtures/keras/generate_applications_weights.py).
@Suite struct WeightMatchingTests {
    static func apps(_ flavor: String, top: Bool) -> String {
        Fixture.path("keras/apps_1232_\(flavor)_\(top ? "top" : "notop")\(flavor == "keras3" ? ".weights.h5" : ".h5")")
    }

    @Test func tfKerasStemNamesMatchByPositionNotByName() throws {
        let found = try WeightListing.read(Self.apps("tfkeras", top: true))
        let model = try RecognizedDenseNet(blocks: [1, 2, 3, 2], inputChannels: 3, classes: 7).build()
        let expected = try WeightListing.expected(of: model, format: .tfKerasWeights)
        let byPosition = WeightPairing(expected.weights, found.weights, rule: .position)
        #expect(byPosition.onlyInA.isEmpty && byPosition.onlyInB.isEmpty && byPosition.pairs.count == 106)
        // conv1/conv's kernel and conv1/bn's four arrays: stored under tf-keras' names, loaded all the same.
        #expect(byPosition.renamed.map(\.b.path).first == "conv1/conv/conv1/conv/kernel:0")
        #expect(byPosition.renamed.map(\.a.path).first == "conv1_conv/conv1_conv/kernel:0")
        #expect(byPosition.renamed.count == 5)
        let byPath = WeightPairing(expected.weights, found.weights, rule: .objectPath)
        #expect(byPath.onlyInA.count == 5 && byPath.onlyInB.count == 5)
    }

    @Test(
        arguments: [
            ("apps_1232_tfkeras_top.h5", [1, 2, 3, 2], 3, 7), ("apps_1232_tfkeras_notop.h5", [1, 2, 3, 2], 1, nil),
            ("apps_1232_keras3_top.weights.h5", [1, 2, 3, 2], 3, 7), ("apps_1232_keras3_notop.weights.h5", [1, 2, 3, 2], 1, nil),
            ("apps_1232_keras2_top.h5", [1, 2, 3, 2], 3, 7), ("apps_1232_keras2_notop.h5", [1, 2, 3, 2], 1, nil),
            ("densenet_small_tfkeras_weights.h5", [2, 2, 2, 2], 3, 10), ("densenet_small_tfkeras.h5", [2, 2, 2, 2], 3, 10),
            ("densenet_small_keras3.weights.h5", [2, 2, 2, 2], 3, 10), ("densenet_small_keras3.keras", [2, 2, 2, 2], 3, 10)
        ] as [(String, [Int], Int, Int?)])
    func recognisesEachApplicationsFixture(file: String, blocks: [Int], channels: Int, classes: Int?) throws {
        let recognized = RecognizedDenseNet(try WeightListing.read(Fixture.path("keras/" + file)))
        #expect(recognized == RecognizedDenseNet(blocks: blocks, inputChannels: channels, classes: classes))
        #expect(recognized?.presetName == nil && recognized?.flags == nil)
    }

    @Test func theTutorialIsNoApplicationsDenseNet() throws {
        for file in [Fixture.tfKerasWeights, Fixture.keras3Weights, Fixture.keras3Archive] {
            #expect(RecognizedDenseNet(try WeightListing.read(file)) == nil, "\(file)")
        }
        let choice = try ModelChoice(for: WeightFile(Fixture.tfKerasWeights))
        #expect(choice.name == "densenet-mini" && choice.fitsFile && choice.recognized == nil)
    }

    @Test func presetsAreNamedWithTheirFlags() {
        let densenet121 = RecognizedDenseNet(blocks: DenseNetApplication.densenet121Blocks, inputChannels: 3, classes: 1000)
        #expect(densenet121.summary == "DenseNet-121 (blocks 6, 12, 24, 16), 3 input channels, 1000 classes (with the top)")
        #expect(densenet121.flags == "--model densenet121")
        let headless = RecognizedDenseNet(blocks: DenseNetApplication.densenet201Blocks, inputChannels: 1, classes: nil)
        #expect(headless.flags == "--model densenet201 --input-shape 224,224,1 --no-include-top")
    }

    @Test func aWeightsOnlyFileGoesIntoTheDenseNetItHolds() throws {
        let loaded = try LoadedModel(Self.apps("keras2", top: false))
        #expect(loaded.architecture == "densenet with blocks [1, 2, 3, 2]")
        #expect(loaded.model.inputShape == [224, 224, 1] && loaded.model.outputShape == [7, 7, 140])
        let withTop = try LoadedModel(Self.apps("keras3", top: true))
        #expect(withTop.model.outputShape == [7])
    }

    @Test func subclassedAndFunctionalTwinsDiffEqualByPosition() throws {
        let diff = try WeightDiff.compare(
            WeightListing.read(Fixture.tfKerasWeights), WeightListing.read(Fixture.path("keras/tutorial_tfkeras_functional.h5")))
        #expect(diff.isEqual && diff.entries.count == 46 && diff.renamedCount == 46, "\(diff.entries.filter { $0.status != .equal })")
        #expect(diff.identity == MatchingRule.position.rawValue)
    }

    @Test func safetensorsWithoutMetadataDiffEqualToItsH5() throws {
        let source = Self.apps("tfkeras", top: true)
        let path = temporaryPath("plain.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try LoadedModel(source).model.save(to: path)
        var file = try SafetensorsFile.read(path)
        file.metadata = ["format": "pt"]  // as safetensors.torch.save_file writes a state dict
        try file.write(to: path)
        let plain = try WeightListing.read(path)
        #expect(RecognizedDenseNet(plain) == RecognizedDenseNet(blocks: [1, 2, 3, 2], inputChannels: 3, classes: 7))
        let diff = try WeightDiff.compare(WeightListing.read(source), plain)
        #expect(diff.isEqual && diff.entries.count == 106, "\(diff.entries.filter { $0.status != .equal }.prefix(3))")
        #expect(diff.skipped.count == 21)  // num_batches_tracked of each of the 21 BatchNormalizations
    }
}
