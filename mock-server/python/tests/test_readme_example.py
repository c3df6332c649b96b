import json
import os
import urllib.request


def test_my_code_creates_a_vpc(coreweave_env, coreweave_control):
    # The code under test configures itself from COREWEAVE_API_ENDPOINT and
    # COREWEAVE_API_TOKEN, which coreweave_env points at the mock, in this test's own
    # organization. Here it is one REST call.
    request = urllib.request.Request(
        os.environ["COREWEAVE_API_ENDPOINT"] + "/v1beta1/networking/vpcs",
        data=json.dumps({"name": "my-vpc", "zone": "US-EAST-04A"}).encode(),
        headers={
            "authorization": f"Bearer {os.environ['COREWEAVE_API_TOKEN']}",
            "content-type": "application/json",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["vpc"]["name"] == "my-vpc"
    # What the code sent, checked against the mock's journal: on failure, the
    # AssertionError names the calls that came closest and where they differ.
    coreweave_control.verify("CreateVPC", {"name": "my-vpc"}, code="OK", count=1)
