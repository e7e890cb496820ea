// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IERC3009Receive {
    function receiveWithAuthorization(
        address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes memory signature
    ) external;
    function transfer(address to, uint256 value) external returns (bool);
}

/// @title TestERC3009DepositCollector — moves a batch-settlement deposit signed as an ERC-3009
/// `ReceiveWithAuthorization` into the escrow, for local tests only.
/// @notice The payer authorizes a transfer to this collector with nonce keccak256(channelId, salt), which binds the
/// authorization to one channel; only the escrow may call `collect`. Deployed with the escrow's canonical address,
/// then its runtime code (immutable included) placed at the collector's canonical address.
contract TestERC3009DepositCollector {
    address public immutable x402BatchSettlement;

    error InvalidX402BatchSettlementAddress();
    error OnlyX402BatchSettlement();

    constructor(address settlement) {
        if (settlement == address(0)) revert InvalidX402BatchSettlementAddress();
        x402BatchSettlement = settlement;
    }

    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata collectorData) external {
        if (msg.sender != x402BatchSettlement) revert OnlyX402BatchSettlement();
        (uint256 validAfter, uint256 validBefore, uint256 salt, bytes memory signature) = abi.decode(collectorData, (uint256, uint256, uint256, bytes));
        bytes32 nonce = keccak256(abi.encode(channelId, salt));
        IERC3009Receive(token).receiveWithAuthorization(payer, address(this), amount, validAfter, validBefore, nonce, signature);
        require(IERC3009Receive(token).transfer(x402BatchSettlement, amount), "TestERC3009DepositCollector: transfer failed");
    }
}
