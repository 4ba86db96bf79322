import Foundation
import HDF5
import TestSupport
import Testing

/// Issue #18's table, row by row: each hostile file (Fixtures/hostile, generate_hostile.py) is answered
/// with exit 2 and one line naming the file and what was expected, and nothing is written.
@Suite struct HostileFileTests {
    struct Case: CustomStringConvertible, Sendable {
        let command: [String]
        let file: String
        /// Words the one-line message must hold, besides the file's path.
        let says: String
        var description: String { "\(command.first!) \(file)" }
    }

    static let cases: [Case] = [
        Case(command: ["inspect"], file: "h5_dims_2p40.h5", says: "read budget"),
        Case(command: ["inspect", "--stats"], file: "h5_declared_4TB.h5", says: "read budget"),
        Case(command: ["inspect"], file: "st_shape_2p32.safetensors", says: "byte size fits in 64 bits"),
        Case(command: ["convert"], file: "st_f64_2p61.safetensors", says: "byte size fits in 64 bits"),
        Case(command: ["diff", Fixture.tfKerasWeights], file: "st_axes_out_of_range.safetensors", says: "axes permuting"),
        Case(command: ["convert"], file: "keras_config_surrogate.keras", says: "unpaired surrogate"),
        Case(command: ["convert"], file: "tfkeras_training_config_surrogate.h5", says: "unpaired surrogate"),
        Case(command: ["convert"], file: "keras_config_deep.keras", says: "nesting deeper than 512"),
        Case(command: ["convert"], file: "tfkeras_training_config_deep.h5", says: "nesting deeper than 512"),
        Case(command: ["convert"], file: "keras_zip64_sizes.keras", says: "ZIP64 offsets and sizes below 2^62"),
        Case(command: ["convert"], file: "keras_zip64_sizes_2p40.keras", says: "entry sizes that fit"),
        Case(command: ["inspect"], file: "keras_metadata_bomb.keras", says: "64 × the archive's size"),
        Case(command: ["convert"], file: "keras_config_bomb.keras", says: "64 × the archive's size"),
        Case(command: ["inspect"], file: "keras_weights_bomb.keras", says: "64 × the archive's size"),
        Case(command: ["inspect"], file: "h5_layer_names_bomb.h5", says: "variable-length strings declare"),
        Case(command: ["convert"], file: "h5_layer_names_bomb.h5", says: "variable-length strings declare"),
        Case(command: ["inspect"], file: "h5_keras3_group_cycle.h5", says: "a group linked into itself"),
        // Inputs libFuzzer found (docs/security.md): a heap over-read inside libhdf5's H5Aexists, and a
        // group structure that made the harness's walk of the project's reader exponential.
        Case(command: ["inspect"], file: "fuzz_libhdf5_attribute_overread.h5", says: "bad symbol table node signature"),
        Case(command: ["convert"], file: "fuzz_group_walk_timeout.h5", says: "bad heap free list"),
        // Heap over-reads in libhdf5's link iteration: the isolated check refuses the group it cannot list,
        // so this process never opens the file with libhdf5.
        Case(
            command: ["inspect", "--stats"], file: "fuzz_libhdf5_link_info_addr_overflow.h5",
            says: "can't retrieve group info (addr overflow"
        ),
        Case(command: ["convert"], file: "fuzz_libhdf5_link_info_overread.h5", says: "can't retrieve group info (bad symbol table node"),
        // A string reference libhdf5's H5HG_read crashes on (SIGSEGV), in a structure the project's reader
        // declines: libhdf5 reads the file in a child process first, whose crash is the answer.
        Case(command: ["inspect", "--stats"], file: "fuzz_libhdf5_global_heap.h5", says: "libhdf5 died reading it (Segmentation fault)"),
        // Two more H5HG_read crashes under H5Aread (SIGSEGV in main's binary), and an allocation of 2^62 bytes
        // libhdf5 asks for while opening (ASan's limit; without it malloc fails and libhdf5 says so).
        Case(command: ["inspect", "--stats"], file: "fuzz_libhdf5_global_heap_declined.h5", says: "libhdf5 died reading it"),
        Case(command: ["convert"], file: "fuzz_libhdf5_global_heap_declined_2.h5", says: "libhdf5 died reading it"),
        Case(command: ["inspect"], file: "fuzz_libhdf5_huge_allocation.h5", says: "memory allocation failed"),
        // The rest of that campaign: a heap over-read under H5A__compact_build_table (ASan only), and
        // allocations of up to 0xa1a1a1a1a1a1a1a1 bytes requested by H5C_protect.
        Case(command: ["convert"], file: "fuzz_libhdf5_attribute_table_overread.h5", says: "bad symbol table node signature"),
        Case(command: ["inspect", "--stats"], file: "fuzz_libhdf5_huge_allocation_2.h5", says: "memory allocation failed"),
        Case(command: ["inspect"], file: "fuzz_libhdf5_huge_allocation_3.h5", says: "memory allocation failed"),
        Case(command: ["convert"], file: "fuzz_libhdf5_huge_allocation_4.h5", says: "memory allocation failed"),
        // torch.save checkpoints whose pickle asks for code (issue #17): refused by name, before any tensor is read.
        Case(command: ["convert"], file: "pth_os_system.pth", says: "found GLOBAL posix.system"),
        Case(command: ["convert"], file: "pth_builtins_eval.pth", says: "found GLOBAL builtins.eval"),
        Case(command: ["inspect"], file: "pth_builtins_eval.pth", says: "found GLOBAL builtins.eval"),
        Case(command: ["convert"], file: "pth_unknown_global.pth", says: "found GLOBAL __main__.Unknown"),
        Case(command: ["convert"], file: "pth_truncated.pth", says: "unreadable zip"),
        // libFuzzer (`pth`): a ZIP64 central directory at byte 2^63 + …, which ZIPFoundation turned into an off_t (a trap).
        Case(command: ["inspect"], file: "fuzz_zip64_directory_offset.pth", says: "ZIP64 offsets and sizes below 2^62")
    ]

    @Test(arguments: cases)
    func isAnsweredWithExitTwoAndOneLine(_ hostile: Case) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = Fixture.path("hostile/\(hostile.file)")
        // `diff A B` takes the hostile file second; `convert` gets an output that must not appear.
        var arguments = hostile.command.first == "diff" ? ["diff", hostile.command[1], path] : hostile.command + [path]
        let output = folder.appendingPathComponent("out.h5").path
        if hostile.command == ["convert"] { arguments += [output] }
        let result = try CLI.run(arguments)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.hasPrefix("densenet-io: \(path)"), "\(result.stderr)")
        #expect(result.stderr.contains(hostile.says), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func aRaisedInflationLimitReadsTheBigEntry() throws {
        let result = try CLI.run(
            ["inspect", Fixture.path("hostile/keras_metadata_bomb.keras")], environment: ["DENSENET_IO_INFLATION_LIMIT": "1000"])
        #expect(result.status == 0, "\(result.stderr)")
        let invalid = try CLI.run(["inspect", Fixture.tfKerasWeights], environment: ["DENSENET_IO_INFLATION_LIMIT": "0"])
        #expect(invalid.status == 2)
        #expect(
            invalid.stderr == "densenet-io: DENSENET_IO_INFLATION_LIMIT must be a whole number ≥ 1 (a multiple of the file's size), got 0\n"
        )
    }
}
