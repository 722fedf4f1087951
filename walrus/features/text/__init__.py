"""Text processing shared by search and models: pure Python, no I/O.

:mod:`.words` folds text and splits it into words (stop words too);
:mod:`.tokenizer` turns words into index terms (Snowball stems or
:mod:`.metaphone` codes); :mod:`.query` parses the full-text query language.
"""
