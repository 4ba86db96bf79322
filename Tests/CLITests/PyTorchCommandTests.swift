import Foundation
import TestSupport
import Testing

/// torchvision's and timm's DenseNet state dicts (Fixtures/pytorch) through the command line: converted
/// to every Keras format, whose predictions `verify --reference` compares with torchvision's outputs.
@Suite struct PyTorchCommandTests {
    static let smallModel = ["--model", "densenet121", "--blocks", "2,2,2,2", "--input-shape", "40,40,3", "--classes", "10"]

    @Test(arguments: ["torchvision_densenet_small.safetensors", "timm_densenet_small.safetensors", "torchvision_densenet_small.pth"])
    func convertsToEveryKerasFormatAndPredictsLikeTorchvision(_ name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Fixture.path("pytorch/\(name)")
        let stem = name.replacingOccurrences(of: ".safetensors", with: "").replacingOccurrences(of: ".pth", with: "")
        let reference = Fixture.path("pytorch/\(stem)_io.h5")
        let checked = try CLI.run(["verify", source, "--reference", reference, "--atol", "2e-6"] + Self.smallModel)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        for output in ["w.h5", "w.weights.h5", "m.keras"] {
            let path = folder.appendingPathComponent(output).path
            let converted = try CLI.run(["convert", source, path] + Self.smallModel)
            #expect(converted.status == 0, "\(converted.stderr)")
            // The archive carries its model; the weights-only files need the architecture again.
            let model = output.hasSuffix(".keras") ? [] : Self.smallModel
            let verified = try CLI.run(["verify", path, "--reference", reference, "--atol", "2e-6"] + model)
            #expect(verified.status == 0, "\(output): \(verified.stdout)\(verified.stderr)")
        }
    }

    @Test func pthIsReadOnly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.pth").path
        let result = try CLI.run(["convert", Fixture.path("pytorch/torchvision_densenet_small.pth"), output] + Self.smallModel)
        #expect(result.status == 2)
        #expect(result.stderr.contains("name the output \(folder.path)/out.safetensors"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func inspectListsAPth() throws {
        let result = try CLI.run(["inspect", Fixture.path("pytorch/wrapped_state_dict.pth")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("PyTorch checkpoint (torch.save zip, .pth)"), "\(result.stdout)")
        #expect(result.stdout.contains("fc.weight") || result.stdout.contains("weight"), "\(result.stdout)")
    }
}
