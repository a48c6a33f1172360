"""Files in chat: what a file is (``kinds``), images made safe (``images``), where
the bytes live (``storage``, ``s3``) and the signed links that fetch them (``links``)."""
