"""What the marimo lessons share: exercises that check themselves, one module per lesson's
checks (`tour`, `trino_crud`), each against an oracle the learner's answer cannot copy."""
