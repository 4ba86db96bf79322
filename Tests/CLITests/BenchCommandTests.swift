import Foundation
import TestSupport
import Testing

/// `densenet-io bench`: the DENSENET_IO_* switches reach the engine's configuration (the engine
/// itself reads no environment), and the report names the paths that ran.
@Suite struct BenchCommandTests {
    func report(_ environment: [String: String] = [:], _ extra: [String] = []) throws -> [String: Any] {
        let result = try CLI.run(
            [
                "bench", "--json", "--no-training", "--steps", "1", "--repeats", "1", "--batch-size", "2",
                "--load-model", ""
            ] + extra, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test func switchesChooseThePaths() throws {
        let switched = try report(["DENSENET_IO_CONV": "blas", "DENSENET_IO_SIMD": "portable"])
        #expect(switched["conv_path"] as? String == "blas")
        #expect(switched["kernels"] as? String == "portable")
        let plain = try report(["DENSENET_IO_CONV": "", "DENSENET_IO_SIMD": ""])
        #expect(plain["conv_path"] as? String == "automatic")
    }

    /// `--profile` reports each kind of layer's share of the pass (the shares add up to 1) and the
    /// convolutions' GFLOP/s against the peak, which is measured unless given.
    @Test func profileAndPeak() throws {
        let measured = try report([:], ["--profile"])
        #expect(measured["peak_gflops_measured"] as? Bool == true)
        #expect((measured["peak_gflops"] as? Double ?? 0) > 0)
        let rows = try #require(measured["profile_inference"] as? [[String: Any]])
        let shares = rows.compactMap { $0["share"] as? Double }
        #expect(shares.count == rows.count && abs(shares.reduce(0, +) - 1) < 1e-9)
        #expect(rows.contains { ($0["kind"] as? String)?.hasPrefix("image chain: convolution 3×3") == true && $0["gflops"] is Double })
        #expect(measured["profile_training"] == nil)
        let given = try report([:], ["--peak-gflops", "100"])
        #expect(given["peak_gflops"] as? Double == 100)
        #expect(given["peak_gflops_measured"] as? Bool == false)
        #expect(given["profile_inference"] == nil)
    }

    /// Images that would not fit are refused before anything is allocated (at 224×224×3, 60 000
    /// samples were 36 GB, and the default now holds 1 GiB of them).
    @Test func aDatasetLargerThanMemoryIsRefused() throws {
        let result = try CLI.run([
            "bench", "--model", "densenet121", "--input-shape", "224,224,3", "--dataset-size", "100000000", "--load-model", ""
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--dataset-size 100000000 of [224, 224, 3] images takes 56076.0 GiB"), "\(result.stderr)")
    }
}
