"""A solved patch becomes a branch without touching the user's HEAD, index or working tree."""

from agent.engine.delivery import commit_patch
from tests.repo_helpers import fingerprint, git, make_repo

PATCH = """diff --git a/calc/ops.py b/calc/ops.py
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -3,4 +3,4 @@

 def add(a, b):
     \"\"\"Return a plus b.\"\"\"
-    return a - b
+    return a + b
diff --git a/NEW.md b/NEW.md
new file mode 100644
--- /dev/null
+++ b/NEW.md
@@ -0,0 +1 @@
+new
"""


def test_branch_holds_one_commit_and_user_tree_is_byte_identical(tmp_path):
    repo = make_repo(tmp_path / "calc")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc" / "ops.py").write_text("user's own uncommitted edit\n")
    git(repo, "add", "README.md")
    before = fingerprint(repo)
    branch = commit_patch(repo, base, PATCH, "fix-add", "Fix add")
    assert branch == "agent/fix-add"
    assert fingerprint(repo) == before
    assert git(repo, "rev-parse", "HEAD").strip() == base
    assert git(repo, "rev-list", "--count", f"{base}..{branch}").strip() == "1"
    assert "return a + b" in git(repo, "show", f"{branch}:calc/ops.py")
    assert git(repo, "show", f"{branch}:NEW.md") == "new\n"
    assert git(repo, "log", "-1", "--format=%s", branch).strip() == "Fix add"


def test_existing_branch_names_get_a_suffix(tmp_path):
    repo = make_repo(tmp_path / "calc")
    base = git(repo, "rev-parse", "HEAD").strip()
    assert commit_patch(repo, base, PATCH, "fix", "one") == "agent/fix"
    assert commit_patch(repo, base, PATCH, "fix", "two") == "agent/fix-2"
