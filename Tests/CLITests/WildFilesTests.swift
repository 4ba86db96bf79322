import Foundation
import TestSupport
import Testing

/// Files from the wild (#17): Keras Applications weight files verified without flags, files of another
/// model diagnosed in a few short lines, twins diffed by position or order, any HDF5 file inspected.
@Suite struct WildFilesTests {
    static let applicationsFiles = [
        "tfkeras_top.h5", "tfkeras_notop.h5", "keras3_top.weights.h5", "keras3_notop.weights.h5", "keras2_top.h5", "keras2_notop.h5"
    ]

    @Test(arguments: applicationsFiles)
    func verifyWithoutFlagsRecognisesTheDenseNet(file: String) throws {
        let result = try CLI.run(["verify", Fixture.path("keras/apps_1232_" + file)])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let top = file.contains("_top")
        #expect(
            result.stdout.contains(
                "the weights show a DenseNet (blocks 1, 2, 3, 2), \(top ? "3 input channels, 7 classes (with the top)" : "1 input channel, no top")"
            ),
            "\(result.stdout)")
        #expect(result.stdout.contains("model densenet with blocks [1, 2, 3, 2]"))
        // tf-keras' stem names (conv1/conv, conv1/bn) load by position: a note, not a problem.
        #expect(result.stdout.contains("note: 5 weights stored under other names") == !file.hasPrefix("keras3"))
        #expect(result.stdout.hasSuffix("verify: OK\n"))
    }

    @Test func verifyAgainstAnotherModelIsAShortDiagnosis() throws {
        let result = try CLI.run(["verify", Fixture.path("keras/apps_1232_tfkeras_top.h5"), "--model", "densenet121"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 25, "\(result.stdout)")
        #expect(lines.dropFirst().allSatisfy { $0.count <= 120 }, "\(result.stdout)")
        #expect(result.stdout.contains("the file holds: a DenseNet (blocks 1, 2, 3, 2), 3 input channels, 7 classes"))
        #expect(result.stdout.contains("flags that fit: none (leave out --model: no preset has these blocks)"))
        #expect(result.stdout.contains("… and "))
    }

    @Test func convertIntoAnotherModelIsAShortDiagnosis() throws {
        let out = temporaryPath("wrong.h5")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try CLI.run(["convert", Fixture.tfKerasWeights, out, "--model", "densenet121"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count <= 12 && lines.allSatisfy { $0.count <= 300 }, "\(result.stderr)")
        #expect(lines.dropFirst().allSatisfy { $0.count <= 102 }, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "layer count mismatch; expected 242 layers with weights (conv1_conv, conv1_bn, conv2_block1_0_bn, … 239 more)"))
        #expect(result.stderr.contains("the file holds: 46 weights in"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func convertWithoutModelTakesTheDenseNetTheFileHolds() throws {
        let out = temporaryPath("apps.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try CLI.run(["convert", Fixture.path("keras/apps_1232_keras2_notop.h5"), out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("as densenet with blocks [1, 2, 3, 2]: 104 weights"), "\(result.stdout)")
    }

    @Test func twinsDiffEqualByPositionAndByOrder() throws {
        let twin = Fixture.path("keras/tutorial_tfkeras_functional.h5")
        let result = try CLI.run(["diff", Fixture.tfKerasWeights, twin])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("46 weights matched under different names"))
        #expect(result.stdout.contains("46 weights: 46 equal, 0 different, 0 missing, 0 extra"))
        let byOrder = try CLI.run(["diff", "--by-order", Fixture.tfKerasWeights, twin])
        #expect(byOrder.status == 0 && byOrder.stdout.contains("matched by order in the file"), "\(byOrder.stdout)")
        let otherModel = try CLI.run(["diff", "--by-order", Fixture.tfKerasWeights, Fixture.path("keras/apps_1232_tfkeras_top.h5")])
        #expect(otherModel.status == 1 && otherModel.stdout.contains("shape mismatch"))
    }

    @Test func diffOfAnotherModelListsFiveProblemsAndWhatEachFileHolds() throws {
        let other = Fixture.path("keras/apps_1232_keras3_top.weights.h5")
        let result = try CLI.run(["diff", Fixture.tfKerasWeights, other])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let problemLines = result.stdout.split(separator: "\n").filter {
            $0.hasPrefix("missing") || $0.hasPrefix("extra") || $0.hasPrefix("shape")
        }
        #expect(problemLines.count == 5, "\(result.stdout)")
        #expect(result.stdout.contains("more problem(s) (--verbose lists every one)"))
        #expect(result.stdout.contains("A holds: ") && result.stdout.contains("B holds: "))
        let verbose = try CLI.run(["diff", "--verbose", Fixture.tfKerasWeights, other])
        #expect(!verbose.stdout.contains("more problem(s)") && verbose.stdout.split(separator: "\n").count > 40, "\(verbose.stdout)")
    }

    @Test func inspectListsAnyHDF5FileAsH5ls() throws {
        let result = try CLI.run(["inspect", Fixture.h5pyWritten])
        #expect(result.status == 0, "\(result.stderr)")
        for line in [
            "h5py_written.h5: HDF5, not a Keras weight file", "/data/i32_rank3  Dataset {2, 3, 4} int32",
            "/data/f64_scalar  Dataset scalar float64", "/model/dense/kernel:0  Dataset {2, 3} float32",
            "    @title  scalar string = \"fixture\"", "/ordered/zeta  Group"
        ] {
            #expect(result.stdout.contains(line), "\(line)\n\(result.stdout)")
        }
        let json = try CLI.run(["inspect", "--json", Fixture.h5pyWritten])
        #expect(json.status == 0 && json.stdout.contains("\"path\" : \"/data/u8\""), "\(json.stdout)")
    }

    /// The `--large` files of one DenseNet (`densenet121_tfkeras_top.h5`, …) that are present.
    static func largeFiles(_ depth: String) -> [String] {
        applicationsFiles.map { Fixture.path("keras/generated/densenet\(depth)_\($0)") }.filter {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    /// DenseNet-121/169/201 at Keras' defaults, with and without the top, as tf-keras, Keras 3 and
    /// the Keras 2 layout wrote them; skipped until `generate_applications_weights.py --large` ran.
    @Test(
        .enabled(
            if: !largeFiles("121").isEmpty,
            "large Applications fixtures absent: run `python Fixtures/keras/generate_applications_weights.py --large`"),
        arguments: ["121", "169", "201"])
    func largeApplicationsFilesVerifyWithAndWithoutModel(depth: String) throws {
        let files = Self.largeFiles(depth)
        for file in files {
            let top = !file.contains("notop")
            let bare = try CLI.run(["verify", file])
            #expect(bare.status == 0 && bare.stdout.contains("model densenet\(depth),"), "\(file)\n\(bare.stdout)")
            #expect(bare.stdout.contains("\(top ? "1000 classes (with the top)" : "no top")"))
            let named = try CLI.run(["verify", file, "--model", "densenet\(depth)"] + (top ? [] : ["--no-include-top"]))
            #expect(named.status == 0, "\(file)\n\(named.stdout)")
        }
    }
}
