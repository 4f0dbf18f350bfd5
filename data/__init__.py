"""The course's data files, installed as the package ``mobilecourse.datafiles``.

Only a marker: ``pyproject.toml`` maps this folder to that package so that a wheel
carries the paper tables and the digits; ``mobilecourse.data`` reads them.
"""
