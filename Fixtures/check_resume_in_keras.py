"""Resumes training runs saved by densenet-io in real Keras and compares the continued losses (not part of the tests).

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/check_resume_in_keras.py --work DIR
DIR holds, for each configuration C of Fixtures/keras/generate_resume_fixtures.py except adagrad
(the tiny functional model trained by densenet-io on batches 0, 1, 2 of Fixtures/keras/resume/batches.h5):
  C.h5           tf-keras full-model file with optimizer_weights
  C.keras        Keras 3 archive with optimizer/vars
  C.losses.json  {"losses": [5 floats]}: densenet-io's own losses on batches 3..7 after the save
tf-keras 2.21 loads each C.h5 (`tf_keras.models.load_model`) and Keras 3.15 each C.keras
(`keras.saving.load_model`), each library in a process of its own, exactly as the generator loads
its own files; both continue with `train_on_batch` on batches 3..7. Prints one line per file and
exits 1 when a file does not load, its iteration count is not 3, or a loss differs from
C.losses.json by more than 1e-5 relative.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "keras"))
import generate_resume_fixtures as resume  # noqa: E402

RELATIVE_TOLERANCE = 1e-5
CONFIGS = [name for name in resume.CONFIGS if name != "adagrad"]
FILES = {"tf_keras": "{}.h5", "keras": "{}.keras"}  # library -> file name of a configuration


def continue_files(library, work):
    """Child process: one JSON line per configuration with the iterations after the load and the 5 losses."""
    images, labels = resume.read_batches(os.path.join(resume.OUT, "batches.h5"))
    for config_name in CONFIGS:
        path = os.path.join(work, FILES[library].format(config_name))
        try:
            iterations, losses = resume.load_and_continue(library, config_name, path, images, labels)
            result = {"iterations": iterations, "losses": losses.tolist()}
        except Exception as error:  # a file that does not load is a finding, not a crash
            result = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps({"config": config_name, **result}), flush=True)


def compare(file_name, result, expected):
    if "error" in result:
        return False, result["error"]
    if result["iterations"] != resume.SAVED_AFTER:
        return False, f"iterations {result['iterations']} after the load, expected {resume.SAVED_AFTER}"
    differences = [abs(a - b) / abs(b) for a, b in zip(result["losses"], expected)]
    worst = max(differences)
    detail = f"max relative difference {worst:.2e} (Keras {result['losses']}, densenet-io {expected})"
    return len(expected) == len(result["losses"]) and worst <= RELATIVE_TOLERANCE, detail


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="directory with C.h5, C.keras and C.losses.json")
    parser.add_argument("--continue-files", choices=sorted(FILES), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.continue_files:
        continue_files(arguments.continue_files, arguments.work)
        return 0
    all_passed = True
    for library, pattern in FILES.items():
        environment = dict(os.environ, KERAS_BACKEND="tensorflow")
        output = subprocess.run([sys.executable, __file__, "--work", arguments.work, "--continue-files", library],
                                check=True, capture_output=True, text=True, env=environment).stdout
        results = {r["config"]: r for r in map(json.loads, filter(lambda line: line.startswith('{"config"'),
                                                                   output.splitlines()))}
        for config_name in CONFIGS:
            file_name = pattern.format(config_name)
            expected_path = os.path.join(arguments.work, f"{config_name}.losses.json")
            if os.path.exists(expected_path):
                with open(expected_path) as f:
                    passed, detail = compare(file_name, results[config_name], json.load(f)["losses"])
            else:
                passed, detail = False, f"{expected_path} is missing"
            all_passed &= passed
            print(f"{'PASS' if passed else 'FAIL'} {file_name} ({library}): {detail}")
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
