"""`python -m cnnlab.transfer_study`: the old spelling of `python -m cnnlab.studies.transfer`,
kept for one release."""

import warnings

from cnnlab.studies.transfer import main

if __name__ == "__main__":
    warnings.warn(
        "python -m cnnlab.transfer_study is now python -m cnnlab.studies.transfer",
        FutureWarning,
        stacklevel=1,
    )
    main()
