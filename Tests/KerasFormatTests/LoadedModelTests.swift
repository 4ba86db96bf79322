import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// `LoadedModel`: one call from a file to a ready model, as `keras.models.load_model`.
@Suite struct LoadedModelTests {
    @Test func aFunctionalFileBuildsItsOwnModelWithItsOptimizer() throws {
        let loaded = try LoadedModel(Fixture.path("keras/resume/keras3_adam.keras"))
        #expect(loaded.architecture == "the file's model_config" && loaded.format == .kerasArchive)
        #expect(loaded.model.root is FunctionalModel && loaded.model.inputShape == [8, 8, 1])
        #expect(loaded.optimizer?.iterations == 3)
    }

    @Test func weightsThatNameNoArchitectureFindTheirPreset() throws {
        let loaded = try LoadedModel(Fixture.tfKerasWeights)
        #expect(loaded.architecture == "densenet-mini" && loaded.optimizer == nil)
        let reference = try readReference(Fixture.tfKerasReference)
        #expect(maxAbsDifference(try loaded.model.predict(reference.inputs), reference.outputs) <= 1e-5)
        let path = temporaryPath("mini.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try loaded.model.save(to: path)
        #expect(try WeightFile(path).format == .safetensors)
        #expect(throws: KerasFormatError.self) { try loaded.model.save(to: temporaryPath("mini.txt")) }
    }

    @Test func aFileNoPresetFitsIsRefusedNamingThePresets() throws {
        let error = #expect(throws: KerasFormatError.self) { try LoadedModel(Fixture.path("keras/resume/tfkeras_adam_weights.h5")) }
        #expect(error?.description.contains("densenet-mini, densenet121") == true, "\(String(describing: error))")
    }
}
