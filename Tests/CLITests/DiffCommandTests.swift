import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct DiffCommandTests {
    @Test func sameWeightsInAnotherFormatAreEqual() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["copy.weights.h5", "copy.safetensors"] {
            let out = folder.appendingPathComponent(name).path
            #expect(try CLI.run(["convert", Fixture.tfKerasWeights, out]).status == 0)
            let result = try CLI.run(["diff", Fixture.tfKerasWeights, out])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("matched by Keras layer name and position"))
            // safetensors hold PyTorch's BatchNorm counters too: counted as not compared, and the verdict says so.
            #expect(
                result.stdout.hasSuffix(
                    name.hasSuffix(".safetensors") ? "equal in what was compared (6 arrays not compared, listed above)\n" : "\nequal\n"))
        }
    }

    @Test func differentWeightsExitWithOne() throws {
        let result = try CLI.run(["diff", Fixture.tfKerasWeights, Fixture.keras3Weights])
        #expect(result.status == 1)
        #expect(result.stdout.contains("different       dense_net/") || result.stdout.contains("different       conv2d/"))
        #expect(result.stdout.hasSuffix("differ\n"))
        #expect(try CLI.run(["diff", Fixture.tfKerasWeights, Fixture.keras3Weights, "--atol", "100"]).status == 0)
    }

    @Test func shapeMismatchAndMissingLayerAreNamed() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let swapped = try copy(Fixture.tfKerasWeights, to: folder, as: "swapped.h5")
        let kernel = try File.open(Fixture.tfKerasWeights).root.dataset("dense_1/dense_net/dense_1/kernel:0").read(as: Float.self)
        try replaceDataset(in: swapped, at: "dense_1/dense_net/dense_1/kernel:0", with: NDArray(shape: [10, 128], scalars: kernel.scalars))
        let result = try CLI.run(["diff", Fixture.tfKerasWeights, swapped])
        #expect(result.status == 1)
        #expect(result.stdout.contains("shape mismatch  dense_1/dense_net/dense_1/kernel:0 (layer dense_1): A [128, 10], B [10, 128]"))

        let keras3 = folder.appendingPathComponent("partial.weights.h5").path
        #expect(try CLI.run(["convert", Fixture.tfKerasWeights, keras3]).status == 0)
        try File.open(keras3, mode: .readWrite).root.unlink("dense2")
        let missing = try CLI.run(["diff", Fixture.tfKerasWeights, keras3])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("missing         dense_1/dense_net/dense_1/kernel:0 (layer dense_1) [128, 10]: in A, not in B"))
    }

    @Test func usageAndInputErrorsExitWithTwo() throws {
        #expect(try CLI.run(["diff", Fixture.tfKerasWeights]).status == 2)
        #expect(try CLI.run(["diff", Fixture.tfKerasWeights, Fixture.tfKerasWeights, "--atol", "-1"]).status == 2)
        let result = try CLI.run(["diff", Fixture.tfKerasWeights, Fixture.tfKerasReference])
        #expect(result.status == 2)
        #expect(result.stderr.contains("tutorial_tfkeras_io.h5"))
    }

    /// Optimizer state is compared across tf-keras and Keras 3 by its place in Keras' variable list:
    /// one changed slot value makes the files differ (exit 1); Keras 3's learning-rate variable, which
    /// tf-keras keeps in its config, is counted as not compared and the verdict says so.
    @Test func optimizerStateIsComparedAcrossGenerations() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = Fixture.path("keras/resume/tfkeras_adam.h5")
        let archive = folder.appendingPathComponent("adam.keras").path, changed = folder.appendingPathComponent("changed.h5").path
        #expect(try CLI.run(["convert", original, archive]).status == 0)
        let same = try CLI.run(["diff", original, archive])
        #expect(
            same.status == 0 && same.stdout.contains("21 weights: 21 equal") && same.stdout.contains("1 arrays not compared"),
            "\(same.stdout)")
        #expect(same.stdout.hasSuffix("equal in what was compared (1 arrays not compared, listed above)\n"))
        try FileManager.default.copyItem(atPath: original, toPath: changed)
        let name = "Adam/v/dense/bias:0"
        func doubleOneValue() throws {  // the file closes with its last handle, before the diff opens it
            let slots = try File.open(changed, mode: .readWrite).root.group("optimizer_weights")
            var values = try slots.dataset(name).read(as: Float.self).scalars
            values[3] *= 2
            try slots.unlink(name)
            _ = try slots.createDataset(name, NDArray(shape: [10], scalars: values))
        }
        try doubleOneValue()
        let different = try CLI.run(["diff", changed, archive])
        #expect(
            different.status == 1 && different.stdout.contains("different       optimizer_weights/\(name) ↔ optimizer/vars/13"),
            "\(different.stdout)")
    }
}
