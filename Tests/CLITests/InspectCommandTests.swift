import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct InspectCommandTests {
    @Test func listsTfKerasWeightsByLayerWithTotals() throws {
        let result = try CLI.run(["inspect", Fixture.tfKerasWeights])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tf-keras weights (.h5)"))
        #expect(result.stdout.contains("keras_version: 2.21.0"))
        #expect(result.stdout.contains("backend: tensorflow"))
        #expect(result.stdout.contains("Trainable weights:"))
        #expect(result.stdout.contains("Non-trainable weights (BatchNorm moving statistics): 12 arrays, 280 values"))
        #expect(result.stdout.contains("dense_net/dense_layer/dense_unit/batch_normalization/moving_mean:0"))
        #expect(!result.stdout.contains("Optimizer state:"))
    }

    @Test(arguments: [Fixture.keras3Weights, Fixture.keras3Archive])
    func listsKeras3Files(path: String) throws {
        let result = try CLI.run(["inspect", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dl1/layers/dense_unit/bn  (layer batch_normalization)"))
        #expect(result.stdout.contains("280 values"))
        #expect(result.stdout.contains("Optimizer state:") == path.hasSuffix(".keras"))
    }

    @Test func jsonHasTheSameContent() throws {
        let result = try CLI.run(["inspect", Fixture.tfKerasWeights, "--json", "--stats"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "tf-keras weights (.h5)")
        let totals = try #require(json["totals"] as? [String: [String: Int]])
        #expect(totals["non-trainable"]?["parameters"] == 280)
        #expect(json["non_finite"] as? [String] == [])
        let groups = try #require(json["groups"] as? [[String: Any]])
        let weight = try #require((groups.first?["weights"] as? [[String: Any]])?.first)
        #expect(weight["shape"] as? [Int] == [3, 3, 1, 8])
        #expect((weight["stats"] as? [String: Any])?["nan"] as? Int == 0)
    }

    @Test func statsFlagNaNLoudly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try copy(Fixture.tfKerasWeights, to: folder, as: "nan.h5")
        try replaceDataset(in: path, at: "dense_1/dense_net/dense_1/bias:0", with: NDArray([Float](repeating: .nan, count: 10)))
        let result = try CLI.run(["inspect", "--stats", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("!!! dense_1/dense_net/dense_1/bias:0 holds 10 NaN and 0 Inf values !!!"))
        #expect(result.stderr.contains("WARNING"))
        #expect(result.stderr.contains("nan.h5"))
        #expect(result.stdout.contains("min -") || result.stdout.contains("min "))
    }

    @Test func unusableFilesExitWithTwoNamingTheFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.h5").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let truncated = folder.appendingPathComponent("truncated.h5").path
        let bytes = try #require(FileManager.default.contents(atPath: Fixture.tfKerasWeights))
        _ = FileManager.default.createFile(atPath: truncated, contents: bytes.prefix(4096))
        let missingLayer = try copy(Fixture.tfKerasWeights, to: folder, as: "missing.h5")
        try File.open(missingLayer, mode: .readWrite).root.unlink("dense_1")
        for (path, message) in [
            (empty, "empty file"), (truncated, "truncated.h5"),
            (folder.appendingPathComponent("absent.h5").path, "no such file"), (missingLayer, "layer dense_1")
        ] {
            let result = try CLI.run(["inspect", path])
            #expect(result.status == 2, "\(path): \(result.stdout)")
            #expect(result.stderr.contains(path) || result.stderr.contains((path as NSString).lastPathComponent))
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }
}
