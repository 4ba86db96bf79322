import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct VerifyCommandTests {
    @Test(arguments: [
        (Fixture.tfKerasWeights, Fixture.tfKerasReference), (Fixture.keras3Weights, Fixture.keras3Reference),
        (Fixture.keras3Archive, Fixture.keras3Reference)
    ])
    func kerasFilesPassEveryCheck(file: String, reference: String) throws {
        let result = try CLI.run(["verify", file, "--model", "densenet-mini", "--reference", reference])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("0 problem(s)"))
        for format in ["keras2", "keras3", "safetensors", "keras", "checkpoint"] { #expect(result.stdout.contains("\(format) ")) }
        #expect(result.stdout.contains("bit-identical"))
        #expect(result.stdout.contains("8 samples, max abs error"))
        #expect(result.stdout.hasSuffix("verify: OK\n"))
    }

    @Test func safetensorsCopyReproducesKerasOutputs() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("w.safetensors").path
        #expect(try CLI.run(["convert", Fixture.tfKerasWeights, path]).status == 0)
        let result = try CLI.run(["verify", path, "--reference", Fixture.tfKerasReference])
        #expect(result.status == 0, "\(result.stdout)")
    }

    @Test func brokenCopiesFailNamingLayerAndWeight() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let nan = try copy(Fixture.tfKerasWeights, to: folder, as: "nan.h5")
        try replaceDataset(in: nan, at: "dense_1/dense_net/dense_1/bias:0", with: NDArray([Float](repeating: .nan, count: 10)))
        let swapped = try copy(Fixture.tfKerasWeights, to: folder, as: "swapped.h5")
        try replaceDataset(
            in: swapped, at: "conv2d/dense_net/conv2d/kernel:0",
            with: NDArray(shape: [8, 1, 3, 3], scalars: [Float](repeating: 0, count: 72)))
        let missing = try copy(Fixture.keras3Weights, to: folder, as: "missing.weights.h5")
        try File.open(missing, mode: .readWrite).root.unlink("layers/transition_layer_1")
        for (path, lines) in [
            (nan, ["dense_1 (layer dense_1)", "✗ dense_net/dense_1/bias:0: [10] float32: 10 NaN, 0 Inf values"]),
            (swapped, ["✗ dense_net/conv2d/kernel:0: shape mismatch: expected [3, 3, 1, 8], found [8, 1, 3, 3]"]),
            (missing, ["layers/transition_layer_1/conv (layer conv2d_6)", "✗ 0 (kernel): MISSING: expected [3, 3, 32, 32] float32"])
        ] {
            let result = try CLI.run(["verify", path])
            #expect(result.status == 1, "\(result.stdout)")
            for line in lines { #expect(result.stdout.contains(line), "\(result.stdout)") }
            #expect(result.stdout.contains("verify: FAILED"))
        }
    }

    @Test func wrongReferenceOutputsFail() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = folder.appendingPathComponent("wrong_io.h5").path
        let inputs = try File.open(Fixture.tfKerasReference).root.dataset("inputs").read(as: Float.self)
        try File.withCreate(reference) { file in
            try file.root.createDataset("inputs", inputs)
            try file.root.createDataset("outputs", NDArray(shape: [8, 10], scalars: [Float](repeating: 0.1, count: 80)))
        }
        let result = try CLI.run(["verify", Fixture.keras3Weights, "--reference", reference])
        #expect(result.status == 1)
        #expect(result.stdout.contains("wrong_io.h5: 8 samples"))
        #expect(result.stdout.contains("FAILED"))
    }

    @Test func unusableInputsExitWithTwo() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.weights.h5").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(try CLI.run(["verify", empty]).status == 2)
        #expect(try CLI.run(["verify", Fixture.tfKerasWeights, "--model", "resnet"]).status == 2)
        let badReference = try CLI.run(["verify", Fixture.tfKerasWeights, "--reference", Fixture.tfKerasWeights])
        #expect(badReference.status == 2)
        #expect(badReference.stderr.contains("inputs"))
    }
}
