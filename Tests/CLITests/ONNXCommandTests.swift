import Foundation
import TestSupport
import Testing

/// `convert` and `export` to ONNX, and `verify` of the ONNX file.
@Suite struct ONNXCommandTests {
    @Test func convertWritesAnONNXFileThatVerifiesAgainstItsSource() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let onnx = folder.appendingPathComponent("mini.onnx").path
        let converted = try CLI.run(["convert", Fixture.tfKerasWeights, onnx])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(
            converted.stdout.contains(
                "(ONNX) as densenet-mini: opset 17, 37 nodes, 46 initializers, input input [batch, 28, 28, 1], output output [batch, 10]"))
        let verified = try CLI.run(["verify", onnx])
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains("Graph: well formed"))
        #expect(verified.stdout.contains("46 initializers bit-identical, graph identical"))
        // Another file of the same architecture: the graph matches, the weights do not.
        let other = try CLI.run(["verify", onnx, "--source", Fixture.keras3Weights])
        #expect(other.status == 1)
        #expect(other.stdout.contains("values differ from the source's bits"))
    }

    @Test func theNCHWLayoutIsAnOption() throws {
        try withTemporaryPath("mini.onnx") { onnx in
            let converted = try CLI.run(["convert", Fixture.tfKerasWeights, onnx, "--onnx-layout", "nchw"])
            #expect(converted.status == 0, "\(converted.stderr)")
            #expect(converted.stdout.contains("36 nodes, 46 initializers, input input [batch, 1, 28, 28]"))
            #expect(try CLI.run(["verify", onnx]).status == 0)
            let refused = try CLI.run(["convert", Fixture.tfKerasWeights, onnx, "--onnx-layout", "nhcw"])
            #expect(refused.status == 2 && refused.stderr.contains("--onnx-layout takes nhwc or nchw, got nhcw"))
        }
    }

    @Test func onnxIsRefusedIntoAnotherFormatsName() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let wrongName = try CLI.run(["convert", Fixture.tfKerasWeights, folder.appendingPathComponent("m.h5").path, "--to", "onnx"])
        #expect(wrongName.status == 2 && wrongName.stderr.contains("--to onnx writes .onnx files"))
        let wrongFormat = try CLI.run(["convert", Fixture.tfKerasWeights, folder.appendingPathComponent("m.onnx").path, "--to", "keras3"])
        #expect(wrongFormat.status == 2 && wrongFormat.stderr.contains("--to keras3 does not write .onnx files"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func exportWritesACheckpointsModelToONNX() throws {
        let w = try TrainWorkspace()
        #expect(try w.train(["--epochs", "1", "--checkpoint", w.path("run.h5")]).status == 0)
        let exported = try CLI.run(["export", w.path("run.h5"), w.path("run.onnx")])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.contains("(1 epoch and 0 steps trained) to \(w.path("run.onnx")) (ONNX): opset 17"))
        let verified = try CLI.run(["verify", w.path("run.onnx")])
        #expect(verified.status == 0, "\(verified.stdout)")
    }
}
