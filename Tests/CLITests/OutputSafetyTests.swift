import Foundation
import HDF5
import TestSupport
import Testing

/// What a write must never do: replace its own input, leave a part-written or temporary file, or
/// lose the previous output (issue #18).
@Suite struct OutputSafetyTests {
    @Test func writingOverTheInputIsRefusedBeforeAnyWork() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = try copy(Fixture.tfKerasWeights, to: folder, as: "same.h5")
        let link = folder.appendingPathComponent("link.h5").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        let before = FileManager.default.contents(atPath: input)
        let same = try CLI.run(["convert", input, input])
        #expect(same.status == 2)
        #expect(same.stderr == "densenet-io: \(input): the output is the input file; write to another file\n")
        let linked = try CLI.run(["convert", input, link])
        #expect(linked.status == 2)
        #expect(linked.stderr == "densenet-io: \(link): the output is the input file \(input) (a link to it); write to another file\n")
        #expect(FileManager.default.contents(atPath: input) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["link.h5", "same.h5"])
    }

    /// A disk that fills up mid-write (simulated: RLIMIT_FSIZE of 64 KiB) leaves the old output as it was
    /// and no temporary file, for each output format.
    @Test(arguments: ["out.h5", "out.weights.h5", "out.keras", "out.safetensors"])
    func aFailedWriteKeepsTheOldOutputAndLeavesNothing(name: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent(name).path
        let old = Data("the previous output".utf8)
        try old.write(to: URL(fileURLWithPath: output))
        let result = try CLI.run(["convert", Fixture.tfKerasWeights, output], fileSizeLimit: 64 << 10)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.hasPrefix("densenet-io: "))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: output) == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [name])
    }

    @Test func temporaryFilesOfDeadRunsAreRemovedAndLiveOnesKept() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = ".out.keras.\(finished.processIdentifier).17.tmp", staleBeside = stale + ".weights.h5"
        let live = ".out.keras.\(getpid()).18.tmp", unrelated = ".out.keras.notes"
        for name in [stale, staleBeside, live, unrelated] {
            #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data([1])))
        }
        let result = try CLI.run(["convert", Fixture.tfKerasWeights, folder.appendingPathComponent("out.keras").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [live, unrelated, "out.keras"].sorted())
    }

    @Test func convertWarnsAboutNonFiniteWeights() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = try copy(Fixture.tfKerasWeights, to: folder, as: "nan.h5")
        var bias = [Float](repeating: 0, count: 10)
        bias[0] = .nan
        bias[1] = -.infinity
        try replaceDataset(in: input, at: "dense_1/dense_net/dense_1/bias:0", with: NDArray(bias))
        let result = try CLI.run(["convert", input, folder.appendingPathComponent("out.safetensors").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("densenet-io: warning: \(input): weight "))
        #expect(result.stderr.hasSuffix("[10]: 1 NaN, 1 infinite of 10 values\n"))
    }
}
