import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// DenseNet-121 (64×64×3, 10 classes) written by real tf-keras 2.21 and Keras 3.15. The files are
/// 28 MB each, so they are not committed: `python Fixtures/keras/generate_densenet_fixtures.py
/// --large` writes them to Fixtures/keras/generated/, and these tests are skipped until then. The
/// same code paths are always tested on the committed DenseNet(blocks: [2, 2, 2, 2]) in ConfigTests.
@Suite struct DenseNet121Tests {
    static let skipMessage = "DenseNet-121 fixtures absent: run `python Fixtures/keras/generate_densenet_fixtures.py --large`"

    @Test(.enabled(if: DenseNetFixture.densenet121(.tfKeras).isPresent, Comment(rawValue: skipMessage)))
    func tfKerasDenseNet121() throws {
        let fixture = DenseNetFixture.densenet121(.tfKeras)
        let config = try KerasModelConfig(contentsOf: fixture.modelFile)
        #expect(config.name == "densenet121")
        #expect(config.layers.count == 429)
        try fixture.checkAgainstKeras(try fixture.loadedModel(), signFlips: 1e-3)
    }

    @Test(.enabled(if: DenseNetFixture.densenet121(.keras3).isPresent, Comment(rawValue: skipMessage)))
    func keras3DenseNet121() throws {
        let fixture = DenseNetFixture.densenet121(.keras3)
        let config = try KerasModelConfig(contentsOf: fixture.modelFile)
        #expect(config.name == "densenet121")
        #expect(config.layers.count == 429)
        try fixture.checkAgainstKeras(try fixture.loadedModel(), signFlips: 1e-3)
    }

    /// The preset's graph, names included, is the one Keras Applications wrote.
    @Test(
        .enabled(
            if: DenseNetFixture.densenet121(.tfKeras).isPresent && DenseNetFixture.densenet121(.keras3).isPresent,
            Comment(rawValue: skipMessage)), arguments: KerasFlavor.allCases)
    func presetMatchesKerasFile(flavor: KerasFlavor) throws {
        let fixture = DenseNetFixture.densenet121(flavor)
        let model = try Model(
            root: DenseNetApplication.densenet121(inputShape: [64, 64, 3], classes: 10, flavor: flavor),
            inputShape: [64, 64, 3])
        let names = try #require(model.root as? FunctionalModel).nodes.map { $0.layer.name ?? "" }
        #expect(names == (try fixture.reference().layerNames))
        try model.loadWeights(from: fixture.weightsFile)
        let reference = try fixture.reference()
        #expect(maxAbsDifference(try model.predict(reference.inputs, batchSize: 4), reference.outputs) <= 1e-4)
    }
}
