import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct ConvertCommandTests {
    /// A → B → A through every other format reproduces A's datasets and attributes exactly.
    @Test(arguments: [
        (Fixture.tfKerasWeights, "a.h5"), (Fixture.keras3Weights, "a.weights.h5")
    ])
    func roundTripsReproduceTheKerasFile(source: String, name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let middles: [(String, [String])] = [
            ("b.h5", []), ("b.weights.h5", []), ("b.safetensors", []), ("b.keras", []), ("b-model.h5", ["--to", "checkpoint"])
        ]
        for (middle, options) in middles
        where !(middle == "b.h5" && name == "a.h5") && !(middle == "b.weights.h5" && name == "a.weights.h5") {
            let b = folder.appendingPathComponent(middle).path, back = folder.appendingPathComponent("back-\(name)").path
            let first = try CLI.run(["convert", source, b] + options)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("read back bit-identical"))
            #expect(try CLI.run(["convert", b, back]).status == 0)
            #expect(
                try fileStructure(back, includingValues: true) == fileStructure(source, includingValues: true),
                "\(source) → \(middle) → back")
            #expect(try CLI.run(["diff", source, back]).status == 0)
        }
    }

    @Test func safetensorsRoundTripIsByteIdentical() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.safetensors").path
        #expect(try CLI.run(["convert", Fixture.keras3Weights, a]).status == 0)
        for (middle, format) in [("b.h5", "keras2"), ("b.bin", "keras3")] {
            let b = folder.appendingPathComponent(middle).path, back = folder.appendingPathComponent("back.safetensors").path
            #expect(try CLI.run(["convert", a, b, "--to", format]).status == 0)
            #expect(try CLI.run(["convert", b, back]).status == 0)
            #expect(FileManager.default.contents(atPath: back) == FileManager.default.contents(atPath: a))
        }
    }

    @Test func theKerasArchiveConvertsToWeightsAndBack() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("from-archive.h5").path
        let result = try CLI.run(["convert", Fixture.keras3Archive, out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(keras) to"))
        let keras3 = folder.appendingPathComponent("from-archive.weights.h5").path
        #expect(try CLI.run(["convert", out, keras3]).status == 0)
        #expect(try CLI.run(["diff", Fixture.keras3Weights, keras3]).status == 0)
        #expect(try fileStructure(keras3, includingValues: true) == fileStructure(Fixture.keras3Weights, includingValues: true))
    }

    @Test func badArgumentsAndInputsExitWithTwo() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("x.h5").path
        let unknown = try CLI.run(["convert", Fixture.tfKerasWeights, out, "--to", "onnx"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("onnx"))
        #expect(try CLI.run(["convert", Fixture.tfKerasWeights, folder.appendingPathComponent("x.bin").path]).status == 2)
        let notKeras = try CLI.run(["convert", Fixture.tfKerasReference, out])
        #expect(notKeras.status == 2)
        #expect(notKeras.stderr.contains("tutorial_tfkeras_io.h5"))
        let missing = try copy(Fixture.keras3Weights, to: folder, as: "missing.weights.h5")
        try File.open(missing, mode: .readWrite).root.unlink("dl2")
        let result = try CLI.run(["convert", missing, out])
        #expect(result.status == 2)
        #expect(result.stderr.contains("missing.weights.h5"))
        #expect(result.stderr.contains("layer dense_layer_1"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
