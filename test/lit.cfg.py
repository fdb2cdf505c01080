# -*- Python -*-
# lit configuration of the rnnc test suite.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "RNNC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".rnn", ".test"]
config.excludes = ["Inputs", "lib", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.rnnc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%rnnc_src", config.rnnc_src_root))
config.substitutions.append(("%examples", os.path.join(config.rnnc_src_root, "examples")))
# Debian's python with numpy and torch (the first python3 on PATH may lack them).
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%testlib", os.path.join(config.rnnc_src_root, "test", "lib")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.rnnc_tools_dir, config.llvm_tools_dir]
tools = ["rnnc", "rnn-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.rnnc_tools_dir, append_path=True)
